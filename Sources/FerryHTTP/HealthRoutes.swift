import FerryServing
import Hummingbird

/// `GET /v2/health/live|ready` and per-model readiness. As the protocol
/// specifies, the status code is the answer: 200 true, 400 false.
struct HealthRoutes {
    let server: InferenceServer

    func register(on router: Router<FerryRequestContext>) {
        router.get("/v2/health/live") { _, _ in
            server.isLive ? Response(status: .ok) : Response.v2Error("server is not live", status: .badRequest)
        }
        router.get("/v2/health/ready") { _, _ in
            await server.isReady() ? Response(status: .ok) : Response.v2Error("server is not ready", status: .badRequest)
        }
        router.get("/v2/models/:model/ready") { _, context in
            try ready(context.parameters.require("model"), version: nil)
        }
        router.get("/v2/models/:model/versions/:version/ready") { _, context in
            try ready(context.parameters.require("model"), version: context.parameters.require("version"))
        }
    }

    private func ready(_ model: String, version: String?) -> Response {
        guard server.knowsModel(model) else { return Response.v2Error("unknown model '\(model)'", status: .notFound) }
        return server.isModelReady(model, version: version)
            ? Response(status: .ok)
            : Response.v2Error("model '\(model)'\(version.map { " version \($0)" } ?? "") is not ready", status: .badRequest)
    }
}
