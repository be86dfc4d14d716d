import FerryCore
import FerryONNXRuntime
import FerryServing
import Foundation

/// A temporary model repository built from the committed fixture models.
final class TestRepository: Sendable {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("Tests/Fixtures/models")

    let url: URL
    var path: String { url.path }

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-repo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Copies fixture `fixture.onnx` to `name/version/model.onnx`.
    func add(_ name: String, version: Int = 1, fixture: String? = nil, config: String? = nil) throws {
        let directory = url.appendingPathComponent("\(name)/\(version)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let target = directory.appendingPathComponent("model.onnx")
        try? FileManager.default.removeItem(at: target)
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("\(fixture ?? name).onnx"), to: target)
        if let config { try Data(config.utf8).write(to: url.appendingPathComponent("\(name)/config.pbtxt")) }
    }

    func remove(_ name: String) throws {
        try FileManager.default.removeItem(at: url.appendingPathComponent(name))
    }

    static func backend() throws -> ONNXRuntimeBackend {
        let library = root.appendingPathComponent(".deps/onnxruntime/lib/libonnxruntime.so.1.31.1").path
        return ONNXRuntimeBackend(runtime: try ONNXRuntime.load(libraryPath: library), options: ONNXRuntimeOptions(intraOpThreads: 1))
    }

    func server(mode: ModelManager.ControlMode = .none, load: [String] = []) async throws -> InferenceServer {
        let manager = ModelManager(repository: try ModelRepository(path: path), backend: try Self.backend(), controlMode: mode)
        await manager.loadInitialModels(explicitlyNamed: load)
        return InferenceServer(manager: manager)
    }
}

func mlpRequest(batch: Int = 1, seed: Int = 0) -> InferenceRequest {
    InferenceRequest(inputs: [Tensor(name: "input", shape: [batch, 64], values: (0..<batch * 64).map { Float(($0 + seed) % 13) / 13 })])
}
