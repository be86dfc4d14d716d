import FerryCore
import FerryProtocol
import FerryServing
import Foundation
import Testing

@Suite("InferenceServer: routing, validation, statistics")
struct InferenceServerTests {
    @Test("a request runs on the newest version and is counted")
    func inferAndCount() async throws {
        let repository = try TestRepository()
        try repository.add("mlp", version: 1)
        try repository.add("mlp", version: 2)
        let server = try await repository.server()
        let response = try await server.infer(mlpRequest(batch: 3), model: "mlp")
        #expect(response.modelVersion == "2")
        #expect(response.outputs[0].shape == [3, 16])
        let stats = try server.statistics(model: "mlp")
        #expect(stats.map { $0.version } == ["2"])
        #expect(stats[0].inferenceCount == 3)
        #expect(stats[0].executionCount == 1)
        #expect(stats[0].success.count == 1)
        #expect(stats[0].lastInference > 0)
    }

    @Test("a specific version can be asked for; an absent one is not found")
    func versions() async throws {
        let repository = try TestRepository()
        try repository.add("mlp", version: 1)
        try repository.add("mlp", version: 2, config: "version_policy: { all: {} }")
        let server = try await repository.server()
        #expect(try await server.infer(mlpRequest(), model: "mlp", version: "1").modelVersion == "1")
        let error = try await #require(throws: FerryError.self) { try await server.infer(mlpRequest(), model: "mlp", version: "9") }
        #expect(error.code == .notFound)
        #expect(error.message == "model 'mlp' has no version 9 ready (serving: 1, 2)")
        #expect(server.isModelReady("mlp", version: "1"))
        #expect(!server.isModelReady("mlp", version: "9"))
    }

    @Test("an unknown model is not found; a model that failed to load is unavailable with its reason")
    func unknownAndBroken() async throws {
        let repository = try TestRepository()
        try repository.add("mlp")
        try repository.add("broken", fixture: "corrupt")
        let server = try await repository.server()
        let unknown = try await #require(throws: FerryError.self) { try await server.infer(mlpRequest(), model: "nope") }
        #expect(unknown.code == .notFound)
        #expect(unknown.message == "unknown model 'nope'")
        let broken = try await #require(throws: FerryError.self) { try await server.infer(mlpRequest(), model: "broken") }
        #expect(broken.code == .unavailable)
        #expect(broken.message.hasPrefix("model 'broken' is not ready (UNAVAILABLE: model 'broken' failed to load"))
        // One broken model does not stop the others, but the server is not ready (strict readiness).
        #expect(try server.modelReadiness("mlp"))
        #expect(try !server.modelReadiness("broken"))
        #expect(await server.isReady() == false)
        // Readiness has one rule for every frontend: an unknown model is not found, not merely not ready.
        let unknownReadiness = #expect(throws: FerryError.self) { try server.modelReadiness("nope") }
        #expect(unknownReadiness?.code == .notFound)
    }

    @Test("requests are validated against the configured shape and batch size")
    func validation() async throws {
        let repository = try TestRepository()
        try repository.add("mlp")
        let server = try await repository.server()
        let tooBig = try await #require(throws: FerryError.self) { try await server.infer(mlpRequest(batch: 5), model: "mlp") }
        #expect(tooBig.message == "the request's batch size (first dimension) is 5, but model 'mlp' takes at most 4 (max_batch_size)")
        let wrong = InferenceRequest(inputs: [Tensor(name: "input", shape: [1, 63], values: [Float](repeating: 0, count: 63))])
        let shape = try await #require(throws: FerryError.self) { try await server.infer(wrong, model: "mlp") }
        #expect(shape.code == .invalidArgument)
        #expect(shape.message == "input 'input' of model 'mlp' has shape [-1, 64], which the request's shape [1, 63] does not fit")
        let stats = try server.statistics(model: "mlp")[0]
        #expect(stats.fail.count == 2)
        #expect(stats.success.count == 0)
    }

    @Test("reshape: the digits label comes back with the configured dims [N, 1]")
    func reshape() async throws {
        let repository = try TestRepository()
        let digits = TestRepository.root.appendingPathComponent("examples/models/digits")
        try FileManager.default.copyItem(at: digits, to: repository.url.appendingPathComponent("digits"))
        let server = try await repository.server()
        let body = try Data(contentsOf: TestRepository.root.appendingPathComponent("examples/requests/digits.json"))
        let response = try await server.infer(try InferenceRequest(v2JSON: body), model: "digits")
        let label = try #require(response.outputs.first { $0.name == "label" })
        #expect(label.shape == [1, 1])
        #expect(try label.values(as: Int64.self) == [1])
        let metadata = try server.modelMetadata("digits")
        #expect(metadata.outputs.first { $0.name == "label" }?.shape == [-1, 1])
    }

    @Test("a single .onnx file is a repository of one model")
    func singleFile() async throws {
        let manager = ModelManager(
            repository: try ModelRepository(path: TestRepository.fixtures.appendingPathComponent("mlp.onnx").path),
            backend: try TestRepository.backend()
        )
        await manager.loadInitialModels()
        let server = InferenceServer(manager: manager)
        #expect(try await server.infer(mlpRequest(), model: "mlp").modelVersion == "1")
        #expect(await server.isReady())
    }
}

extension InferenceServer {
    /// Readiness as a test reads it: an unknown model counts as not ready.
    func isModelReady(_ name: String, version: String? = nil) -> Bool {
        (try? modelReadiness(name, version: version)) ?? false
    }
}
