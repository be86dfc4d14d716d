import FerryClient
import FerryCore
import FerryONNXRuntime
import FerryServer
import Foundation
import Prometheus
import Synchronization
import Testing

/// The server `ferry serve` runs, built by the same function and driven
/// through its real endpoints with Ferry's own clients.
@Suite("FerryServer: the assembled server")
struct FerryServerTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("HTTP and gRPC answer the same request alike; stop() drains every endpoint and run() returns")
    func endToEnd() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-server-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("mlp/1"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: Self.root.appendingPathComponent("Tests/Fixtures/models/mlp.onnx"), to: directory.appendingPathComponent("mlp/1/model.onnx"))

        var configuration = ServeConfiguration(repository: directory.path)
        configuration.ports = ServerPorts(http: 0, grpc: 0, metrics: 0)
        configuration.jobs.storePath = directory.appendingPathComponent(".jobs/jobs.sqlite").path
        let ports = Mutex<[FerryServer.Endpoint: Int]>([:])
        let library = Self.root.appendingPathComponent(".deps/onnxruntime/lib/libonnxruntime.so.1.31.1").path
        let server = try await FerryServer.build(
            configuration, backend: ONNXRuntimeBackend(runtime: try ONNXRuntime.load(libraryPath: library)),
            registry: PrometheusCollectorRegistry()
        ) { endpoint, port in ports.withLock { $0[endpoint] = port } }
        let running = Task { try await server.run() }

        // Wait on observable state: every endpoint bound and the model ready.
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let ready = await server.inference.isReady()
            if ready && ports.withLock({ $0.count }) == 3 { break }
            try #require(ContinuousClock.now < deadline, "the server did not come up")
            try await Task.sleep(for: .milliseconds(10))
        }
        let (http, grpc) = ports.withLock { ($0[.http]!, $0[.grpc]!) }
        let request = InferenceRequest(
            id: "r1", inputs: [Tensor(name: "input", shape: [2, 64], values: (0..<128).map { Float($0) / 128 })])
        let clients: [any InferenceClient] = [
            try HTTPInferenceClient(baseURL: "http://127.0.0.1:\(http)", binary: false),
            try HTTPInferenceClient(baseURL: "http://127.0.0.1:\(http)", binary: true),
            try GRPCInferenceClient(host: "127.0.0.1", port: grpc),
        ]
        var answers: [[Float]] = []
        for client in clients {
            let response = try await client.infer(request, model: "mlp", version: nil)
            #expect(response.id == "r1")
            answers.append(try response.outputs[0].values(as: Float.self))
            #expect(try await client.isModelReady("mlp", version: nil))
            await client.close()
        }
        #expect(answers.count == 3 && answers.allSatisfy { $0 == answers[0] })

        await server.stop()
        try await running.value
        #expect(await server.inference.isReady() == false)
    }
}
