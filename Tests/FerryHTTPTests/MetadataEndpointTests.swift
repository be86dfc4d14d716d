import FerryCore
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite("Health, metadata, config, statistics, repository endpoints")
struct MetadataEndpointTests {
    @Test("health and readiness answer with the status code")
    func health() async throws {
        try await withV2Router(broken: true) { client, _ in
            let response1 = try await client.execute(uri: "/v2/health/live", method: .get)
            #expect(response1.status == .ok)
            // A model failed to load: not ready (Triton's strict readiness).
            let response2 = try await client.execute(uri: "/v2/health/ready", method: .get)
            #expect(response2.status == .badRequest)
            let response3 = try await client.execute(uri: "/v2/models/mlp/ready", method: .get)
            #expect(response3.status == .ok)
            let response4 = try await client.execute(uri: "/v2/models/mlp/versions/1/ready", method: .get)
            #expect(response4.status == .ok)
            let response5 = try await client.execute(uri: "/v2/models/mlp/versions/2/ready", method: .get)
            #expect(response5.status == .badRequest)
            let response6 = try await client.execute(uri: "/v2/models/broken/ready", method: .get)
            #expect(response6.status == .badRequest)
        }
    }

    @Test("model names in paths are percent-decoded once: spaces and non-ASCII names reach their model")
    func percentEncodedNames() async throws {
        try await withV2Router(models: [], renamed: ["my model": "mlp", "modèle": "mlp"]) { client, _ in
            let spaced = try await client.execute(uri: "/v2/models/my%20model/ready", method: .get)
            #expect(spaced.status == .ok)
            #expect(try JSONParser.parse(Data(buffer: spaced.body))["name"] == .string("my model"))
            let accented = try await client.execute(uri: "/v2/models/mod%C3%A8le", method: .get)
            #expect(accented.status == .ok)
            #expect(try JSONParser.parse(Data(buffer: accented.body))["name"] == .string("modèle"))
            let request = #"{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[\#((0..<64).map { _ in "0.5" }.joined(separator: ","))]}]}"#
            let inferred = try await client.execute(
                uri: "/v2/models/mod%C3%A8le/versions/1/infer", method: .post, body: ByteBuffer(string: request))
            #expect(inferred.status == .ok, "\(String(buffer: inferred.body))")
            #expect(try JSONParser.parse(Data(buffer: inferred.body))["model_name"] == .string("modèle"))
            let malformed = try await client.execute(uri: "/v2/models/my%2model/ready", method: .get)
            #expect(malformed.status == .badRequest)
            #expect(
                try JSONParser.parse(Data(buffer: malformed.body))
                    == .object(["error": .string("the path segment 'my%2model' is not valid percent-encoded UTF-8")]))
        }
    }

    @Test("health answers carry a JSON body as the Open Inference Protocol shows it; HEAD answers like GET without one")
    func healthBodies() async throws {
        try await withV2Router(broken: true) { client, _ in
            let live = try await client.execute(uri: "/v2/health/live", method: .get)
            #expect(try JSONParser.parse(Data(buffer: live.body)) == .object(["live": .bool(true)]))
            let ready = try await client.execute(uri: "/v2/health/ready", method: .get)
            #expect(try JSONParser.parse(Data(buffer: ready.body))["ready"] == .bool(false))
            let model = try await client.execute(uri: "/v2/models/mlp/ready", method: .get)
            #expect(try JSONParser.parse(Data(buffer: model.body)) == .object(["name": .string("mlp"), "ready": .bool(true)]))
            let broken = try await client.execute(uri: "/v2/models/broken/ready", method: .get)
            let brokenBody = try JSONParser.parse(Data(buffer: broken.body))
            #expect(brokenBody["ready"] == .bool(false))
            #expect(brokenBody["error"] == .string("model 'broken' is not ready"))
            let unknown = try await client.execute(uri: "/v2/models/nope/ready", method: .get)
            #expect(unknown.status == .notFound)
            #expect(try JSONParser.parse(Data(buffer: unknown.body)) == .object(["error": .string("unknown model 'nope'")]))

            for (path, status) in [
                ("/v2/health/live", HTTPResponse.Status.ok), ("/v2/health/ready", .badRequest), ("/v2/models/mlp/ready", .ok),
                ("/v2/models/mlp/versions/1/ready", .ok), ("/v2/models/nope/ready", .notFound),
            ] {
                let head = try await client.execute(uri: path, method: .head)
                #expect(head.status == status, "HEAD \(path)")
                #expect(head.body.readableBytes == 0, "HEAD \(path)")
            }
        }
    }

    @Test("server metadata lists the supported extensions")
    func serverMetadata() async throws {
        try await withV2Router { client, _ in
            let json = try await client.execute(uri: "/v2", method: .get).json
            #expect(json["name"] == .string("ferry"))
            let extensions = json["extensions"]?.arrayValue?.compactMap { $0.stringValue } ?? []
            #expect(Set(extensions) == ["binary_tensor_data", "model_repository", "model_configuration", "statistics"])
        }
    }

    @Test("model metadata shows client-side shapes with -1 for the batch dimension")
    func modelMetadata() async throws {
        try await withV2Router { client, _ in
            let json = try await client.execute(uri: "/v2/models/mlp", method: .get).json
            #expect(json["platform"] == .string("onnxruntime_onnx"))
            #expect(json["versions"] == .array([.string("1")]))
            #expect(
                json["inputs"]
                    == .array([
                        .object(["name": .string("input"), "datatype": .string("FP32"), "shape": .array([.number("-1"), .number("64")])])
                    ]))
            let unknown = try await client.execute(uri: "/v2/models/nope", method: .get)
            #expect(unknown.status == .notFound)
        }
    }

    @Test("model config is Triton's JSON with every field present")
    func modelConfig() async throws {
        try await withV2Router { client, _ in
            let json = try await client.execute(uri: "/v2/models/mlp/config", method: .get).json
            #expect(json["max_batch_size"] == .number("4"))
            #expect(json["input"]?.arrayValue?.first?["data_type"] == .string("TYPE_FP32"))
            #expect(json["input"]?.arrayValue?.first?["dims"] == .array([.number("64")]))
            #expect(json["dynamic_batching"] != nil)
            let digits = try await client.execute(uri: "/v2/models/digits/config", method: .get).json
            #expect(digits["max_batch_size"] == .number("64"))
        }
    }

    @Test("statistics count successes, failures and batch sizes")
    func statistics() async throws {
        try await withV2Router { client, _ in
            let request = #"{"inputs":[{"name":"input","shape":[2,64],"datatype":"FP32","data":\#(Array(repeating: 0.5, count: 128))}]}"#
            for _ in 0..<3 { _ = try await client.execute(uri: "/v2/models/mlp/infer", method: .post, body: ByteBuffer(json: request)) }
            _ = try await client.execute(uri: "/v2/models/mlp/infer", method: .post, body: ByteBuffer(json: #"{"inputs":[]}"#))
            let stats = try #require(
                try await client.execute(uri: "/v2/models/mlp/stats", method: .get).json["model_stats"]?.arrayValue?.first)
            #expect(stats["inference_count"] == .number("6"))
            #expect(stats["execution_count"] == .number("3"))
            #expect(stats["inference_stats"]?["success"]?["count"] == .number("3"))
            #expect(stats["inference_stats"]?["fail"]?["count"] == .number("1"))
            #expect(stats["batch_stats"]?.arrayValue?.first?["batch_size"] == .number("2"))
            let all = try await client.execute(uri: "/v2/models/stats", method: .get).json["model_stats"]?.arrayValue ?? []
            #expect(all.count >= 5)
        }
    }

    @Test("repository index, unload and load")
    func repository() async throws {
        try await withV2Router { client, _ in
            let index = try await client.execute(uri: "/v2/repository/index", method: .post).json.arrayValue ?? []
            #expect(index.contains(.object(["name": .string("mlp"), "version": .string("1"), "state": .string("READY")])))

            let response7 = try await client.execute(uri: "/v2/repository/models/mlp/unload", method: .post)
            #expect(response7.status == .ok)
            let response8 = try await client.execute(uri: "/v2/models/mlp/ready", method: .get)
            #expect(response8.status == .badRequest)
            let refused = try await client.execute(uri: "/v2/models/mlp/infer", method: .post, body: ByteBuffer(json: #"{"inputs":[]}"#))
            #expect(refused.status == .serviceUnavailable)
            let ready = try await client.execute(uri: "/v2/repository/index", method: .post, body: ByteBuffer(json: #"{"ready":true}"#))
            #expect(!(ready.json.arrayValue ?? []).contains { $0["name"] == .string("mlp") })

            let response9 = try await client.execute(uri: "/v2/repository/models/mlp/load", method: .post)
            #expect(response9.status == .ok)
            let response10 = try await client.execute(uri: "/v2/models/mlp/ready", method: .get)
            #expect(response10.status == .ok)
            let missing = try await client.execute(uri: "/v2/repository/models/ghost/load", method: .post)
            #expect(missing.status == .notFound)
        }
    }

    @Test("an unknown path is a 404 with a JSON error")
    func unknownPath() async throws {
        try await withV2Router { client, _ in
            let response = try await client.execute(uri: "/v3/whatever", method: .get)
            #expect(response.status == .notFound)
            #expect(response.error == "no such endpoint: GET /v3/whatever")
        }
    }
}
