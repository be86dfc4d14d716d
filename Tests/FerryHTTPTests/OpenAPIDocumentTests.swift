import FerryCore
import FerryHTTP
import FerryJobs
import FerryONNXRuntime
import FerrySecurity
import FerryServing
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Testing

@Suite("The OpenAPI document and the docs page")
struct OpenAPIDocumentTests {
    /// The v2 router with jobs (as `ferry serve` builds it) and the metrics router.
    private func servedRoutes() async throws -> Set<String> {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-openapi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let library = repositoryRoot.appendingPathComponent(".deps/onnxruntime/lib/libonnxruntime.so.1.31.1").path
        let manager = ModelManager(
            repository: try ModelRepository(path: directory.path),
            backend: ONNXRuntimeBackend(runtime: try ONNXRuntime.load(libraryPath: library)))
        let server = InferenceServer(manager: manager)
        let logger = Logger(label: "test")
        let store = try await SQLiteJobStore.open(path: directory.appendingPathComponent("jobs.sqlite").path, logger: logger)
        let jobs = JobService(store: store, server: server, configuration: JobsConfiguration(), logger: logger)
        let routes = buildV2Router(server: server, jobs: jobs).routes.map { "\($0.method) \($0.path)" }
        let metrics = buildMetricsRouter(registry: PrometheusCollectorRegistry()).routes.map { "\($0.method) \($0.path)" }
        return Set(routes + metrics)
    }

    @Test("every route has an operation in /openapi.json, and every operation a route")
    func routesMatchTheDocument() async throws {
        let served = try await servedRoutes()
        let documented = Set(OpenAPIDocument.routes().map { "\($0.method) \($0.path)" })
        #expect(served.subtracting(documented).sorted() == [], "routes the document does not describe")
        #expect(documented.subtracting(served).sorted() == [], "operations no route serves")
        #expect(served.contains("POST /v1/models/{model}/labels/{label}:classify"))
    }

    @Test("every route belongs to one API group in APIRoutes, and every route there is served")
    func routesHaveAPIGroups() async throws {
        let served = try await servedRoutes()
        let grouped = Set(APIRoutes.http.keys)
        #expect(served.subtracting(grouped).sorted() == [], "routes without an API group: access control refuses them")
        #expect(grouped.subtracting(served).sorted() == [], "API groups of routes no longer served")
        #expect(APIRoutes.http["POST /v2/repository/models/{model}/load"] == .repository)
        #expect(APIRoutes.http["HEAD /v2/health/ready"] == .health)
    }

    @Test("the document is OpenAPI 3.1 with unique operation ids and resolvable references")
    func documentIsWellFormed() throws {
        let document = try JSONParser.parse(OpenAPIDocument.json())
        #expect(document["openapi"] == "3.1.0")
        guard case .object(let paths)? = document["paths"], case .object(let schemas)? = document["components"]?["schemas"] else {
            Issue.record("no paths or schemas")
            return
        }
        var ids: [String] = []
        for (path, item) in paths {
            guard case .object(let operations) = item else { continue }
            for (method, operation) in operations where method != "servers" {
                ids.append(operation["operationId"]?.stringValue ?? "")
                #expect(operation["responses"]?["200"] != nil, "\(method) \(path) documents no 200")
                // Every {name} in the path is declared as a path parameter.
                let declared = Set((operation["parameters"]?.arrayValue ?? []).filter { $0["in"] == "path" }.compactMap { $0["name"]?.stringValue })
                let inPath = Set(path.split(separator: "{").dropFirst().compactMap { $0.split(separator: "}").first.map(String.init) })
                #expect(declared == inPath, "\(method) \(path)")
            }
        }
        #expect(Set(ids).count == ids.count, "duplicate operationId")
        let text = String(decoding: OpenAPIDocument.json(), as: UTF8.self)
        for reference in text.split(separator: "\"#/components/schemas/").dropFirst() {
            let name = String(reference.prefix { $0 != "\"" })
            #expect(schemas[name] != nil, "unresolved reference \(name)")
        }
    }

    @Test("GET / is the self-contained docs page and GET /openapi.json the document")
    func servedByTheRouter() async throws {
        try await withV2Router(models: ["mlp"]) { client, _ in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                let page = String(buffer: response.body)
                #expect(page.contains("<canvas") == false)  // drawn by the script, only for the digits model
                #expect(!page.contains("http://") && !page.contains("https://"), "the page must not load anything from elsewhere")
            }
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.json["info"]?["title"] == "Ferry")
            }
        }
    }
}
