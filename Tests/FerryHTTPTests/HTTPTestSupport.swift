import FerryCore
import FerryHTTP
import FerryONNXRuntime
import FerryServing
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore

let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A temporary repository with the given fixture models (NAME/1/model.onnx)
/// and the digits example, served through the real router.
func withV2Router(
    models: [String] = ["mlp", "multi_io", "identity_bytes", "identity_fp16"],
    broken: Bool = false,
    maxRequestBytes: Int = 64 << 20,
    mode: ModelManager.ControlMode = .explicit,
    renamed: [String: String] = [:],
    _ test: @Sendable (any TestClientProtocol, InferenceServer) async throws -> Void
) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-http-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    // `renamed` serves a fixture under another name: model name → fixture.
    for (model, fixture) in models.map({ ($0, $0) }) + renamed.sorted(by: { $0.key < $1.key }) {
        let version = directory.appendingPathComponent("\(model)/1")
        try FileManager.default.createDirectory(at: version, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: repositoryRoot.appendingPathComponent("Tests/Fixtures/models/\(fixture).onnx"),
            to: version.appendingPathComponent("model.onnx")
        )
    }
    try FileManager.default.copyItem(
        at: repositoryRoot.appendingPathComponent("examples/models/digits"), to: directory.appendingPathComponent("digits"))
    if broken {
        let version = directory.appendingPathComponent("broken/1")
        try FileManager.default.createDirectory(at: version, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: repositoryRoot.appendingPathComponent("Tests/Fixtures/models/corrupt.onnx"),
            to: version.appendingPathComponent("model.onnx")
        )
    }
    let library = repositoryRoot.appendingPathComponent(".deps/onnxruntime/lib/libonnxruntime.so.1.31.1").path
    let manager = ModelManager(
        repository: try ModelRepository(path: directory.path),
        backend: ONNXRuntimeBackend(runtime: try ONNXRuntime.load(libraryPath: library)),
        controlMode: mode
    )
    await manager.loadInitialModels(explicitlyNamed: ["*"])
    let server = InferenceServer(manager: manager)
    let app = Application(router: buildV2Router(server: server, maxRequestBytes: maxRequestBytes))
    try await app.test(.router) { client in try await test(client, server) }
}

extension TestResponse {
    var json: JSONValue { (try? JSONParser.parse(Data(body.readableBytesView))) ?? .null }
    var error: String? { json["error"]?.stringValue }
}

extension ByteBuffer {
    init(json: String) { self.init(string: json) }
}

let headerLengthField = HTTPField.Name("Inference-Header-Content-Length")!
