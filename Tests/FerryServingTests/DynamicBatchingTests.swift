import FerryCore
import FerryTestSupport
import FerryONNXRuntime
import FerryServing
import Foundation
import Synchronization
import Testing

@Suite("Dynamic batching and queue policy")
struct DynamicBatchingTests {
    /// A server over `models` with the gated real backend; the gate starts closed.
    func gatedServer(_ repository: TestRepository, maxBatchSize: Int = 16) async throws -> (InferenceServer, Gate) {
        let gate = Gate()
        let manager = ModelManager(
            repository: try ModelRepository(path: repository.path),
            backend: GatedBackend(inner: try TestRepository.backend(), gate: gate),
            defaultMaxBatchSize: maxBatchSize
        )
        await manager.loadInitialModels()
        return (InferenceServer(manager: manager), gate)
    }

    func multiIORequest(rows: Int, seed: Int) -> InferenceRequest {
        InferenceRequest(inputs: [
            Tensor(name: "a", shape: [rows, 4], values: (0..<rows * 4).map { Float(($0 * 7 + seed) % 11) - 5 }),
            Tensor(name: "b", shape: [rows], values: (0..<rows).map { Int64(seed * 3 + $0) - 4 }),
            Tensor(name: "c", shape: [rows], strings: (0..<rows).map { String(repeating: "x", count: ($0 + seed) % 5) + "é\(seed)" }),
        ])
    }

    @Test("batched requests of mixed sizes get exactly what they would get alone")
    func batchedEqualsUnbatched() async throws {
        let repository = try TestRepository()
        try repository.add("mlp")
        try repository.add("multi_io")
        let reference = try TestRepository.backend()
        let mlp = try reference.loadModel(atPath: repository.url.appendingPathComponent("mlp/1/model.onnx").path, name: "mlp")
        let multiIO = try reference.loadModel(atPath: repository.url.appendingPathComponent("multi_io/1/model.onnx").path, name: "multi_io")
        let (server, gate) = try await gatedServer(repository)

        var generator = SeededGenerator(test: "batchedEqualsUnbatched")
        let mlpSizes = (0..<12).map { _ in Int.random(in: 1...3, using: &generator) }
        let ioSizes = (0..<8).map { _ in Int.random(in: 0...3, using: &generator) }
        let mlpTasks = mlpSizes.enumerated().map { index, rows in
            Task { try await server.infer(mlpRequest(batch: rows, seed: index * 5), model: "mlp") }
        }
        let ioTasks = ioSizes.enumerated().map { index, rows in
            Task { try await server.infer(multiIORequest(rows: rows, seed: index), model: "multi_io") }
        }
        try await waitFor {
            server.pendingRequests(model: "mlp") == mlpSizes.count && server.pendingRequests(model: "multi_io") == ioSizes.count
        }
        gate.release()

        for (index, task) in mlpTasks.enumerated() {
            let alone = try mlp.run(mlpRequest(batch: mlpSizes[index], seed: index * 5).inputs, outputs: ["output"])
            let batched = try await task.value.outputs
            #expect(batched.map { $0.shape } == alone.map { $0.shape })
            #expect(batched.map { $0.data } == alone.map { $0.data }, "mlp request \(index) (seed \(generator.seed))")
        }
        let outputs = multiIO.signature.outputs.map { $0.name }
        for (index, task) in ioTasks.enumerated() {
            let alone = try multiIO.run(multiIORequest(rows: ioSizes[index], seed: index).inputs, outputs: outputs)
            let batched = try await task.value.outputs
            #expect(batched.map { $0.shape } == alone.map { $0.shape })
            #expect(batched.map { $0.data } == alone.map { $0.data }, "multi_io request \(index) (seed \(generator.seed))")
        }
        let stats = try #require(try server.statistics(model: "mlp").first)
        #expect(stats.inferenceCount == UInt64(mlpSizes.reduce(0, +)))
        // Eleven requests queued behind the first: they ran in far fewer executions.
        #expect(stats.executionCount < UInt64(mlpSizes.count))
        #expect(stats.batches.contains { $0.batchSize > 3 })
    }

    @Test("a full queue refuses at once with 503 and says so")
    func queueFull() async throws {
        let repository = try TestRepository()
        try repository.add("mlp", config: "max_batch_size: 1\ndynamic_batching { default_queue_policy { max_queue_size: 2 } }")
        let (server, gate) = try await gatedServer(repository)
        let running = Task { try await server.infer(mlpRequest(), model: "mlp") }
        try await waitFor { gate.arrivals == 1 }
        let queued = (0..<2).map { index in Task { try await server.infer(mlpRequest(seed: index), model: "mlp") } }
        try await waitFor { server.pendingRequests(model: "mlp") == 3 }
        let error = try await #require(throws: FerryError.self) { try await server.infer(mlpRequest(), model: "mlp") }
        #expect(error.code == .unavailable)
        #expect(error.httpStatus == 503 && error.grpcStatusCode == 14)
        #expect(error.message == "model 'mlp''s queue is full (2 requests waiting, max_queue_size)")
        gate.release()
        _ = try await running.value
        for task in queued { _ = try await task.value }
    }

    @Test("a request past its timeout gets 504 under REJECT")
    func timeoutReject() async throws {
        let repository = try TestRepository()
        try repository.add(
            "mlp",
            config:
                "max_batch_size: 1\ndynamic_batching { default_queue_policy { default_timeout_microseconds: 30000000, allow_timeout_override: true } }"
        )
        let (server, gate) = try await gatedServer(repository)
        let running = Task { try await server.infer(mlpRequest(), model: "mlp") }
        try await waitFor { gate.arrivals == 1 }
        var hurried = mlpRequest(seed: 1)
        hurried.parameters["timeout"] = .int(2_000)
        let late = Task { try await server.infer(hurried, model: "mlp") }
        let patient = Task { try await server.infer(mlpRequest(seed: 2), model: "mlp") }
        try await waitFor { server.pendingRequests(model: "mlp") == 3 }
        try await Task.sleep(for: .milliseconds(20))
        gate.release()
        _ = try await running.value
        let error = try await #require(throws: FerryError.self) { try await late.value }
        #expect(error.code == .deadlineExceeded)
        #expect(error.httpStatus == 504 && error.grpcStatusCode == 4)
        #expect(error.message == "the request to model 'mlp' waited longer than its timeout")
        _ = try await patient.value
    }

    /// Runs `requests` behind a request held at the gate and returns the order they completed in.
    func completionOrder(_ server: InferenceServer, _ gate: Gate, _ requests: [InferenceRequest], settle: Duration = .zero) async throws
        -> [Int]
    {
        let running = Task { try await server.infer(mlpRequest(), model: "mlp") }
        try await waitFor { gate.arrivals == 1 }
        let order = OrderLog()
        var tasks: [Task<Void, any Error>] = []
        for (index, request) in requests.enumerated() {
            tasks.append(
                Task {
                    _ = try await server.infer(request, model: "mlp")
                    order.append(index)
                })
            try await waitFor { server.pendingRequests(model: "mlp") == index + 2 }
        }
        try await Task.sleep(for: settle)
        gate.release()
        _ = try await running.value
        for task in tasks { try await task.value }
        return order.entries
    }

    @Test("under DELAY a late request still runs, after the requests on time")
    func timeoutDelay() async throws {
        let repository = try TestRepository()
        try repository.add(
            "mlp",
            config: "max_batch_size: 1\ndynamic_batching { default_queue_policy { timeout_action: DELAY, allow_timeout_override: true } }"
        )
        let (server, gate) = try await gatedServer(repository)
        var late = mlpRequest(seed: 1)
        late.parameters["timeout"] = .int(1_000)
        let order = try await completionOrder(server, gate, [late, mlpRequest(seed: 2), mlpRequest(seed: 3)], settle: .milliseconds(20))
        #expect(order == [1, 2, 0])
    }

    @Test("higher priority (1) runs before lower, whatever the arrival order")
    func priority() async throws {
        let repository = try TestRepository()
        try repository.add("mlp", config: "max_batch_size: 1\ndynamic_batching { priority_levels: 3, default_priority_level: 2 }")
        let (server, gate) = try await gatedServer(repository)
        var low = mlpRequest(seed: 1)
        low.parameters["priority"] = .int(3)
        var high = mlpRequest(seed: 2)
        high.parameters["priority"] = .int(1)
        let order = try await completionOrder(server, gate, [low, mlpRequest(seed: 3), high])
        #expect(order == [2, 1, 0])

        var invalid = mlpRequest()
        invalid.parameters["priority"] = .int(4)
        let error = try await #require(throws: FerryError.self) { try await server.infer(invalid, model: "mlp") }
        #expect(error.message == "priority 4 is outside model 'mlp''s levels 1…3 (1 is highest)")
    }

    @Test("a cancelled request leaves the queue and the others are unaffected")
    func cancellation() async throws {
        let repository = try TestRepository()
        try repository.add("mlp", config: "max_batch_size: 1\ndynamic_batching { }")
        let (server, gate) = try await gatedServer(repository)
        let running = Task { try await server.infer(mlpRequest(), model: "mlp") }
        try await waitFor { gate.arrivals == 1 }
        let doomed = Task { try await server.infer(mlpRequest(seed: 1), model: "mlp") }
        let kept = Task { try await server.infer(mlpRequest(seed: 2), model: "mlp") }
        try await waitFor { server.pendingRequests(model: "mlp") == 3 }
        doomed.cancel()
        try await waitFor { server.pendingRequests(model: "mlp") == 2 }
        let error = try await #require(throws: FerryError.self) { try await doomed.value }
        #expect(error.code == .cancelled)
        gate.release()
        _ = try await running.value
        _ = try await kept.value
        #expect(try server.statistics(model: "mlp")[0].executionCount == 2)
    }
}

extension DynamicBatchingTests {
    @Test("merge then split returns every request's own tensors, BYTES included")
    func assemblerRoundTrip() throws {
        let requests = [2, 0, 3].enumerated().map { seed, rows in
            [
                Tensor(name: "f", shape: [rows, 2], values: (0..<rows * 2).map { Float($0 + seed * 10) }),
                Tensor(name: "s", shape: [rows, 2], strings: (0..<rows * 2).map { String(repeating: "ab", count: $0 + seed) }),
            ]
        }
        let merged = BatchAssembler.merge(requests)
        #expect(merged.map { $0.shape } == [[5, 2], [5, 2]])
        let split = try BatchAssembler.split(merged, sizes: [2, 0, 3])
        for (original, back) in zip(requests, split) {
            #expect(back.map { $0.shape } == original.map { $0.shape })
            #expect(back.map { $0.data } == original.map { $0.data })
        }
        #expect(throws: FerryError.self) { try BatchAssembler.split(merged, sizes: [2, 2]) }
    }
}

/// Completion order, recorded from several tasks.
final class OrderLog: Sendable {
    private let values = Mutex<[Int]>([])
    func append(_ value: Int) { values.withLock { $0.append(value) } }
    var entries: [Int] { values.withLock { $0 } }
}

@Suite("Instances and defaults for models without a config")
struct InstanceDefaultsTests {
    @Test("instances and threads per instance never oversubscribe the cores")
    func instancePlan() {
        #expect(ModelManager.instancePlan(configured: nil, cores: 1) == (1, 1))
        #expect(ModelManager.instancePlan(configured: nil, cores: 2) == (2, 1))
        #expect(ModelManager.instancePlan(configured: nil, cores: 4) == (4, 1))
        #expect(ModelManager.instancePlan(configured: nil, cores: 16) == (8, 2))
        #expect(ModelManager.instancePlan(configured: 1, cores: 8) == (1, 8))
        #expect(ModelManager.instancePlan(configured: 3, cores: 2) == (3, 1))
    }

    @Test("on a shared thread pool, a model that batches gets one instance per 8 cores, one that does not an instance per core")
    func sharedPoolInstances() {
        #expect(ModelManager.sharedPoolInstances(configured: nil, batching: true, cores: 2) == 1)
        #expect(ModelManager.sharedPoolInstances(configured: nil, batching: true, cores: 16) == 2)
        #expect(ModelManager.sharedPoolInstances(configured: nil, batching: false, cores: 2) == 2)
        #expect(ModelManager.sharedPoolInstances(configured: nil, batching: false, cores: 16) == 8)
        #expect(ModelManager.sharedPoolInstances(configured: 3, batching: true, cores: 2) == 3)
    }

    @Test("models on the shared pool: the instance count follows batching, and the answers are the ones of per-instance threads")
    func sharedPoolLoads() async throws {
        let repository = try TestRepository()
        try repository.add("mlp")
        try repository.add("slow")  // a scalar input: it cannot batch
        let runtime = try TestRepository.backend().runtime
        let manager = ModelManager(
            repository: try ModelRepository(path: repository.path),
            backend: ONNXRuntimeBackend(runtime: runtime, options: ONNXRuntimeOptions(threadPool: .shared)),
            defaultInstanceCount: nil,
            cores: 2
        )
        await manager.loadInitialModels()
        let shared = InferenceServer(manager: manager)
        #expect(try shared.modelConfiguration("mlp").instanceCount == 1)
        #expect(try shared.modelConfiguration("slow").instanceCount == 2)
        let request = InferenceRequest(inputs: [Tensor(name: "input", shape: [3, 64], values: (0..<192).map { Float($0) / 192 })])
        let own = try await repository.server()
        let expected = try await own.infer(request, model: "mlp").outputs[0]
        let answer = try await shared.infer(request, model: "mlp").outputs[0]
        #expect(answer.shape == expected.shape)
        #expect(answer.data == expected.data)
    }

    @Test("serve's batching defaults apply to models without a config.pbtxt")
    func defaultBatching() async throws {
        let repository = try TestRepository()
        try repository.add("mlp")
        var batching = ModelConfiguration.DynamicBatching()
        batching.defaultQueuePolicy.maxQueueSize = 1
        batching.preferredBatchSizes = [2]
        let manager = ModelManager(
            repository: try ModelRepository(path: repository.path),
            backend: try TestRepository.backend(),
            defaultInstanceCount: nil,
            defaultMaxBatchSize: 8,
            defaultBatching: batching,
            cores: 2
        )
        await manager.loadInitialModels()
        let server = InferenceServer(manager: manager)
        let config = try server.modelConfiguration("mlp")
        #expect(config.maxBatchSize == 8)
        #expect(config.dynamicBatching?.defaultQueuePolicy.maxQueueSize == 1)
        #expect(config.dynamicBatching?.preferredBatchSizes == [2])
        #expect(config.instanceCount == 2)
    }
}

@Suite("Stopping a running request")
struct RunningCancellationTests {
    func slowRequest(iterations: Int64) -> InferenceRequest {
        InferenceRequest(inputs: [
            Tensor(name: "iterations", shape: [], values: [iterations]),
            Tensor(name: "x", shape: [1, 64], values: [Float](repeating: 1, count: 64)),
        ])
    }

    @Test("cancelling a request running alone sets ONNX Runtime's terminate flag; the instance is free again")
    func terminateRunningRequest() async throws {
        let repository = try TestRepository()
        try repository.add("slow")
        let server = try await repository.server()
        // About twenty minutes of work, unless it is stopped.
        let task = Task { try await server.infer(slowRequest(iterations: 1_000_000_000), model: "slow") }
        // Taken by the instance (not merely queued), so the cancellation must stop the run itself.
        try await waitFor { server.runningRequests(model: "slow") == 1 }
        task.cancel()
        let error = try await #require(throws: FerryError.self) { try await task.value }
        #expect(error.code == .cancelled)
        #expect(error.message == "the run of model 'slow' was stopped: its request was cancelled")
        try await waitFor { server.pendingRequests(model: "slow") == 0 }

        let next = try await server.infer(slowRequest(iterations: 3), model: "slow")
        #expect(next.outputs[0].shape == [1, 64])
        let stats = try server.statistics(model: "slow")[0]
        #expect(stats.fail.count == 1)
        #expect(stats.success.count == 1)
    }
}

extension DynamicBatchingTests {
    @Test("requests queued and running are counted per serving version (the pending-request gauge)")
    func pendingPerVersion() async throws {
        let repository = try TestRepository()
        try repository.add("mlp", config: "max_batch_size: 1")
        let (server, gate) = try await gatedServer(repository)
        #expect(server.pendingRequestsByVersion().map(\.pending) == [0])
        let tasks = (0..<3).map { index in Task { try await server.infer(mlpRequest(seed: index), model: "mlp") } }
        try await waitFor { gate.arrivals == 1 && server.pendingRequests(model: "mlp") == 3 }
        let counts = server.pendingRequestsByVersion()
        #expect(counts.count == 1 && counts[0].model == "mlp" && counts[0].version == "1" && counts[0].pending == 3)
        gate.release()
        for task in tasks { _ = try await task.value }
        // An instance counts its batch until it is back for the next one, just after the answers go out.
        try await waitFor { server.pendingRequestsByVersion().map(\.pending) == [0] }
    }
}
