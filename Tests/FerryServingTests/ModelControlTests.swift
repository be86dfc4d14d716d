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

    @Test("unloading drains: requests already queued or running all finish")
    func drainOnUnload() async throws {
        let repository = try TestRepository()
        try repository.add("mlp")
        let server = try await repository.server(mode: .explicit, load: ["*"])
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<64 {
                group.addTask {
                    do {
                        _ = try await server.infer(mlpRequest(batch: 4, seed: index), model: "mlp")
                        return true
                    } catch let error as FerryError where error.code == .unavailable {
                        return false  // arrived after the unload began: refused, never dropped
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(2))
                try await server.unloadModel("mlp")
                return true
            }
            var outcomes: [Bool] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        #expect(results.count == 65)
        let stats = try? server.statistics(model: "mlp")
        #expect(stats == nil || stats!.isEmpty)
    }

    @Test("shutting down refuses new requests and lets running ones finish")
    func shutdown() async throws {
        let repository = try TestRepository()
        try repository.add("mlp")
        let server = try await repository.server()
        async let running = server.infer(mlpRequest(batch: 4), model: "mlp")
        server.beginShutdown()
        await server.manager.unloadAll()
        _ = try? await running
        #expect(await server.isReady() == false)
        let error = try await #require(throws: FerryError.self) { try await server.infer(mlpRequest(), model: "mlp") }
        #expect(error.message == "the server is shutting down")
    }
}

/// A flag tasks can share.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
