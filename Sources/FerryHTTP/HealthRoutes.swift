import FerryCore
import FerryServing
import Hummingbird

/// `GET|HEAD /v2/health/live|ready` and per-model readiness. As the protocol
/// specifies, the status code is the answer (200 true, 400 false); the body
/// says it too (`{"live": true}`, `{"ready": true}`, `{"name": …, "ready": …}`),
/// as the Open Inference Protocol's text shows and KServe's Python client
/// reads. HEAD answers the same status without a body, for probes that send it.
struct HealthRoutes {
    let server: InferenceServer

    func register(on router: Router<FerryRequestContext>) {
        let routes: [(RouterPath, @Sendable (Parameters) async throws -> Response)] = [
            ("/v2/health/live", { @Sendable _ in live() }),
            ("/v2/health/ready", { @Sendable _ in await ready() }),
            ("/v2/models/:model/ready", { @Sendable parameters in try modelReady(parameters.decoded("model"), version: nil) }),
            (
                "/v2/models/:model/versions/:version/ready",
                { @Sendable parameters in try modelReady(parameters.decoded("model"), version: parameters.decoded("version")) }
            ),
        ]
        for (path, answer) in routes {
            router.get(path) { _, context in try await answer(context.parameters) }
            router.head(path) { _, context in
                do {
                    return Response(status: try await answer(context.parameters).status)
                } catch let error as FerryError {
                    return Response(status: HTTPResponse.Status(code: error.httpStatus))
                }
            }
        }
    }

    private func live() -> Response {
        answer(server.isLive, key: "live", refusal: "server is not live")
    }

    private func ready() async -> Response {
        answer(await server.isReady(), key: "ready", refusal: "server is not ready")
    }

    private func modelReady(_ model: String, version: String?) throws(FerryError) -> Response {
        let ready = try server.modelReadiness(model, version: version)
        return answer(
            ready, key: "ready", name: model, refusal: "model '\(model)'\(version.map { " version \($0)" } ?? "") is not ready")
    }

    private func answer(_ value: Bool, key: String, name: String? = nil, refusal: String) -> Response {
        var writer = JSONWriter()
        writer.object { object in
            if let name { object.member("name") { $0.string(name) } }
            object.member(key) { $0.bool(value) }
            if !value { object.member("error") { $0.string(refusal) } }
        }
        return Response.json(writer.bytes, status: value ? .ok : .badRequest)
    }
}
