import FerryCore
import FerryServing
import Foundation
import Synchronization
import Testing

@Suite("Model control: explicit load/unload, poll mode, drain")
struct ModelControlTests {
    @Test("explicit mode loads only the named models; load and unload change the state")
    func explicitMode() async throws {
        let repository = try TestRepository()
        try repository.add("mlp")
        try repository.add("scalar")
        let server = try await repository.server(mode: .explicit, load: ["scalar"])
        #expect(!server.isModelReady("mlp"))
        let index = await server.repositoryIndex()
        #expect(index.contains(ModelIndexEntry(name: "mlp", version: nil, state: nil)))
        #expect(index.contains(ModelIndexEntry(name: "scalar", version: "1", state: .ready)))

        try await server.loadModel("mlp")
        #expect(server.isModelReady("mlp"))
        _ = try await server.infer(mlpRequest(), model: "mlp")

        try await server.unloadModel("mlp")
        #expect(!server.isModelReady("mlp"))
        let error = try await #require(throws: FerryError.self) { try await server.infer(mlpRequest(), model: "mlp") }
        #expect(error.code == .unavailable)
        #expect(
            await server.repositoryIndex().contains(ModelIndexEntry(name: "mlp", version: nil, state: .unavailable, reason: "unloaded")))

        let missing = try await #require(throws: FerryError.self) { try await server.loadModel("nope") }
        #expect(missing.code == .notFound)
    }

    @Test("a name that is not a model name never reaches the file system or the model table")
    func invalidNames() async throws {
        let repository = try TestRepository()
        try repository.add("mlp")
        try repository.add("mlp.v2-b_3", fixture: "mlp")
        // A directory whose name is no model name is skipped, not served.
        try FileManager.default.createDirectory(atPath: repository.path + "/bad:name/1", withIntermediateDirectories: true)
        let server = try await repository.server(mode: .explicit, load: ["mlp"])
        #expect(await server.isReady())
        let names = [
            "mlp\0", "mlp\0x", "..\0x", "..", ".", "", "../mlp", "mlp/1", "/mlp", "bad:name", "mlp\n", "mlp%00", ".hidden", " mlp", "mlp\\x",
            String(repeating: "a", count: ModelName.maximumLength + 1),
        ]
        for name in names {
            let load = try await #require(throws: FerryError.self) { try await server.loadModel(name) }
            #expect(load.code == .invalidArgument, "\(ModelName.escaped(name))")
            #expect(load.message.hasPrefix("invalid model name \(ModelName.escaped(name)): "))
            #expect(!load.message.contains("\0") && !load.message.contains("\n"))
            let unload = try await #require(throws: FerryError.self) { try await server.unloadModel(name) }
            #expect(unload.code == .invalidArgument)
        }
        // No phantom model, and the server stays ready.
        #expect(await server.isReady())
        #expect(await server.repositoryIndex().map(\.name) == ["mlp", "mlp.v2-b_3"])
        try await server.loadModel("mlp.v2-b_3")
        #expect(server.isModelReady("mlp.v2-b_3"))
        #expect(ModelName.problem(String(repeating: "a", count: ModelName.maximumLength)) == nil)
        for name in ["my model", "modèle", "mode\u{300}le", "モデル", "resnet50_v1.5-int8"] { #expect(ModelName.problem(name) == nil, "\(name)") }
    }

    @Test("load and unload are refused outside explicit mode")
    func controlModeNone() async throws {
        let repository = try TestRepository()
        try repository.add("mlp")
        let server = try await repository.server(mode: .none)
        let error = try await #require(throws: FerryError.self) { try await server.unloadModel("mlp") }
        #expect(error.code == .unavailable)
        #expect(error.message.contains("--model-control-mode explicit"))
    }

    @Test("poll mode swaps in a new version under concurrent requests with zero failures")
    func pollSwapUnderLoad() async throws {
        let repository = try TestRepository()
        try repository.add("mlp", version: 1)
        let manager = ModelManager(
            repository: try ModelRepository(path: repository.path), backend: try TestRepository.backend(), controlMode: .poll)
        await manager.loadInitialModels()
        let server = InferenceServer(manager: manager)

        let swapped = Flag()
        let perClient = try await withThrowingTaskGroup(of: [String].self) { group in
            for client in 0..<4 {
                group.addTask {
                    var seen: [String] = []
                    var afterSwap = 0
                    // Run until well after the swap (bounded, in case it never comes).
                    while afterSwap < 200 && seen.count < 200_000 {
                        // Every request must succeed across the swap.
                        let response = try await server.infer(mlpRequest(seed: client + seen.count), model: "mlp")
                        seen.append(response.modelVersion ?? "")
                        if swapped.isSet { afterSwap += 1 }
                    }
                    return seen
                }
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(30))
                try repository.add("mlp", version: 2)
                await manager.poll()
                swapped.set()
                return []
            }
            var all: [[String]] = []
            for try await seen in group where !seen.isEmpty { all.append(seen) }
            return all
        }
        #expect(perClient.count == 4)
        for seen in perClient {
            #expect(seen.first == "1")
            #expect(seen.last == "2")
            // Once a client has been answered by version 2, version 1 never answers it again.
            let firstNew = try #require(seen.firstIndex(of: "2"))
            #expect(!seen[firstNew...].contains("1"))
        }

        try repository.add("scalar")
        try repository.remove("mlp")
        await manager.poll()
        #expect(server.isModelReady("scalar"))
        #expect(!server.isModelReady("mlp"))
    }

    @Test("poll mode reloads a version whose file changed, and keeps the old one if the new one is broken")
    func pollReloadAndBrokenUpdate() async throws {
        let repository = try TestRepository()
        try repository.add("m", fixture: "identity_fp32")
        let manager = ModelManager(
            repository: try ModelRepository(path: repository.path), backend: try TestRepository.backend(), controlMode: .poll)
        await manager.loadInitialModels()
        let server = InferenceServer(manager: manager)
        let request = InferenceRequest(inputs: [Tensor(name: "x", shape: [1, 3], values: [Float(1), 2, 3])])
        #expect(try await server.infer(request, model: "m").outputs[0].name == "y")

        try await Task.sleep(for: .milliseconds(20))
        try repository.add("m", fixture: "corrupt")
        await manager.poll()
        // The broken file does not replace the working version.
        #expect(try await server.infer(request, model: "m").outputs[0].name == "y")

        try repository.add("m", fixture: "passthrough")
        await manager.poll()
        let swapped = InferenceRequest(inputs: [Tensor(name: "x", shape: [1, 4], values: [Float(1), 2, 3, 4])])
        #expect(try await server.infer(swapped, model: "m").outputs.map { $0.name } == ["x", "negated"])
    }

    @Test("unloading drains: every request already running or queued finishes; new ones are refused")
    func drainOnUnload() async throws {
        let repository = try TestRepository()
        try repository.add("mlp")
        let gate = Gate()
        let manager = ModelManager(
            repository: try ModelRepository(path: repository.path),
            backend: GatedBackend(inner: try TestRepository.backend(), gate: gate),
            controlMode: .explicit
        )
        await manager.loadInitialModels(explicitlyNamed: ["mlp"])
        let server = InferenceServer(manager: manager)

        let accepted = (0..<6).map { index in Task { try await server.infer(mlpRequest(seed: index), model: "mlp") } }
        // One request runs (held at the gate), five wait in the queue.
        try await waitFor { server.pendingRequests(model: "mlp") == 6 && gate.arrivals == 1 }

        let unloaded = Flag()
        let unloading = Task {
            try await server.unloadModel("mlp")
            unloaded.set()
        }
        try await waitFor { !server.isModelReady("mlp") }
        let refused = try await #require(throws: FerryError.self) { try await server.infer(mlpRequest(), model: "mlp") }
        #expect(refused.code == .unavailable)
        #expect(refused.message == "model 'mlp' is not ready (UNLOADING)")
        try await Task.sleep(for: .milliseconds(50))
        #expect(!unloaded.isSet, "unload returned while requests were still running")

        gate.release()
        for request in accepted {
            #expect(try await request.value.outputs[0].shape == [1, 16])
        }
        try await unloading.value
        #expect(unloaded.isSet)
        #expect(
            await server.repositoryIndex().contains(ModelIndexEntry(name: "mlp", version: nil, state: .unavailable, reason: "unloaded")))
    }

    @Test("a swap lets requests queued on the old version finish there")
    func swapFinishesQueuedRequests() async throws {
        let repository = try TestRepository()
        try repository.add("mlp", version: 1)
        let gate = Gate()
        let manager = ModelManager(
            repository: try ModelRepository(path: repository.path),
            backend: GatedBackend(inner: try TestRepository.backend(), gate: gate),
            controlMode: .poll
        )
        await manager.loadInitialModels()
        let server = InferenceServer(manager: manager)
        let queued = (0..<4).map { index in Task { try await server.infer(mlpRequest(seed: index), model: "mlp") } }
        try await waitFor { server.pendingRequests(model: "mlp") == 4 }

        try repository.add("mlp", version: 2)
        await manager.poll()
        gate.release()
        for request in queued { #expect(try await request.value.modelVersion == "1") }
        #expect(try await server.infer(mlpRequest(), model: "mlp").modelVersion == "2")
    }

    @Test("concurrent loads and unloads of one model run one at a time and leave a consistent state")
    func concurrentControl() async throws {
        let repository = try TestRepository()
        try repository.add("mlp")
        let server = try await repository.server(mode: .explicit, load: [])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<12 {
                group.addTask {
                    if index % 2 == 0 { try await server.loadModel("mlp") } else { try await server.unloadModel("mlp") }
                }
            }
            try await group.waitForAll()
        }
        let index = await server.repositoryIndex().filter { $0.name == "mlp" }
        if server.isModelReady("mlp") {
            #expect(index == [ModelIndexEntry(name: "mlp", version: "1", state: .ready)])
            _ = try await server.infer(mlpRequest(), model: "mlp")
        } else {
            #expect(index == [ModelIndexEntry(name: "mlp", version: nil, state: .unavailable, reason: "unloaded")])
        }
        try await server.loadModel("mlp")
        #expect(try await server.infer(mlpRequest(), model: "mlp").modelVersion == "1")
    }

    @Test("a poll after a model's version directories are deleted stops serving it")
    func versionsDeleted() async throws {
        let repository = try TestRepository()
        try repository.add("mlp")
        let manager = ModelManager(
            repository: try ModelRepository(path: repository.path), backend: try TestRepository.backend(), controlMode: .poll)
        await manager.loadInitialModels()
        let server = InferenceServer(manager: manager)
        try FileManager.default.removeItem(at: repository.url.appendingPathComponent("mlp/1"))
        await manager.poll()
        #expect(!server.isModelReady("mlp"))
        let error = try await #require(throws: FerryError.self) { try await server.infer(mlpRequest(), model: "mlp") }
        #expect(error.message == "model 'mlp' is not ready (UNAVAILABLE: no version left in the repository)")
    }

    @Test("shutting down refuses new requests and lets the running one finish")
    func shutdown() async throws {
        let repository = try TestRepository()
        try repository.add("mlp")
        let gate = Gate()
        let manager = ModelManager(
            repository: try ModelRepository(path: repository.path), backend: GatedBackend(inner: try TestRepository.backend(), gate: gate))
        await manager.loadInitialModels()
        let server = InferenceServer(manager: manager)
        let running = Task { try await server.infer(mlpRequest(batch: 4), model: "mlp") }
        try await waitFor { gate.arrivals == 1 }
        server.beginShutdown()
        let stopping = Task { await server.manager.unloadAll() }
        let error = try await #require(throws: FerryError.self) { try await server.infer(mlpRequest(), model: "mlp") }
        #expect(error.message == "the server is shutting down")
        #expect(await server.isReady() == false)
        gate.release()
        #expect(try await running.value.outputs[0].shape == [4, 16])
        await stopping.value
    }
}

/// Polls a condition (up to 10 s) for states that other threads reach.
func waitFor(_ condition: @Sendable () async -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while !(await condition()) {
        guard ContinuousClock.now < deadline else { throw FerryError(.deadlineExceeded, "condition not reached in 10 s") }
        try await Task.sleep(for: .milliseconds(2))
    }
}

/// A flag tasks can share.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
