import FerryCore
import FerryProtocol
import FerryServing
import Hummingbird

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// TensorFlow Serving's REST API on the same port as v2:
/// `GET /v1/models/{m}[/versions/{v}|/labels/{l}][/metadata]` and
/// `POST /v1/models/{m}[/versions/{v}|/labels/{l}]:predict|:classify|:regress`.
/// Requests run through the same admission, batching and statistics as v2;
/// errors are `{"error": "…"}`, as TF Serving writes them.
struct TFServingRoutes {
    let server: InferenceServer
    let maxRequestBytes: Int

    /// Where a path points: the model, and a version by number or by label.
    private struct Target {
        var model: String
        var version: String?
        var label: String?
    }

    /// The three ways TF Serving's paths name a version, and how to read each.
    private static let selectors: [(suffix: String, target: @Sendable (Parameters) throws -> Target)] = [
        ("", { Target(model: try $0.decoded("model")) }),
        ("/versions/{version}", { Target(model: try $0.decoded("model"), version: try $0.decoded("version")) }),
        ("/labels/{label}", { Target(model: try $0.decoded("model"), label: try $0.decoded("label")) }),
    ]

    func register(on router: Router<FerryRequestContext>) {
        for (suffix, target) in Self.selectors {
            router.get("/v1/models/{model}\(suffix)") { _, context in
                try await status(target(context.parameters))
            }
            router.get("/v1/models/{model}\(suffix)/metadata") { _, context in
                try await metadata(target(context.parameters))
            }
            // "{model}:predict", "{version}:predict": the method follows the last capture.
            for method in ["predict", "classify", "regress"] {
                router.post("/v1/models/{model}\(suffix):\(method)") { request, context in
                    try await run(method, request, target(context.parameters), connection: context.connection)
                }
            }
        }
    }

    private func version(of target: Target) throws(FerryError) -> String? {
        if let label = target.label { return try server.version(labeled: label, model: target.model) }
        return target.version
    }

    private func status(_ target: Target) async throws -> Response {
        let version = try version(of: target)
        let states = try await server.versionStates(target.model, version: version)
        return .json(Array(TFServingModelStatus.json(TFServingModelStatus.message(states))))
    }

    private func metadata(_ target: Target) async throws -> Response {
        await server.loadOnDemand(target.model)
        let model = try server.modelMetadata(target.model, version: try version(of: target))
        return .json(Array(TFServingMetadata.json(name: target.model, version: model.servingVersion, signature: model.signature)))
    }

    private func run(_ method: String, _ request: Request, _ target: Target, connection: ClientConnection?) async throws -> Response {
        let version = try version(of: target)
        let buffer = try await request.body.collect(upTo: maxRequestBytes)
        let body = buffer.withUnsafeReadableBytes { Data($0) }
        await server.loadOnDemand(target.model)
        let signature = try server.modelMetadata(target.model, version: version).signature
        if method == "predict" {
            let predict = try TFServingPredict.request(body, signature: signature, model: target.model)
            let response = try await InferenceRoutes.infer(
                predict.inference, on: server, model: target.model, version: version, connection: connection)
            return .json(Array(try TFServingPredict.response(response, format: predict.format)))
        }
        let examples = try TFServingExamples.request(
            body, method: method == "classify" ? .classify : .regress, signature: signature, model: target.model)
        let response = try await InferenceRoutes.infer(
            examples.inference, on: server, model: target.model, version: version, connection: connection)
        return .json(Array(try TFServingExamples.response(response, for: examples)))
    }
}
