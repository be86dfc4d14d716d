import FerryCore
import FerryServing
import Hummingbird

/// Server and model metadata, model configuration and statistics.
struct MetadataRoutes {
    let server: InferenceServer

    func register(on router: Router<FerryRequestContext>) {
        router.get("/v2") { _, _ in
            Response.json { writer in
                writer.object { object in
                    object.member("name") { $0.string(InferenceServer.name) }
                    object.member("version") { $0.string(InferenceServer.version) }
                    object.member("extensions") { $0.list(InferenceServer.extensions) { $0.string($1) } }
                }
            }
        }
        router.get("/v2/models/:model") { _, context in
            try await modelMetadata(context.parameters.decoded("model"), version: nil)
        }
        router.get("/v2/models/:model/versions/:version") { _, context in
            try await modelMetadata(context.parameters.decoded("model"), version: context.parameters.decoded("version"))
        }
        router.get("/v2/models/:model/config") { _, context in
            let name = try context.parameters.decoded("model")
            await server.loadOnDemand(name)
            let config = try server.modelConfiguration(name)
            return Response.json { $0.modelConfiguration(config) }
        }
        router.get("/v2/models/:model/versions/:version/config") { _, context in
            let name = try context.parameters.decoded("model")
            await server.loadOnDemand(name)
            let config = try server.modelConfiguration(
                name,
                version: try context.parameters.decoded("version")
            )
            return Response.json { $0.modelConfiguration(config) }
        }
        router.get("/v2/models/stats") { _, _ in
            try statistics(nil, nil)
        }
        router.get("/v2/models/:model/stats") { _, context in
            try statistics(context.parameters.decoded("model"), nil)
        }
        router.get("/v2/models/:model/versions/:version/stats") { _, context in
            try statistics(context.parameters.decoded("model"), context.parameters.decoded("version"))
        }
    }

    private func modelMetadata(_ name: String, version: String?) async throws -> Response {
        await server.loadOnDemand(name)
        let model = try server.modelMetadata(name, version: version)
        return Response.json { writer in
            writer.object { object in
                object.member("name") { $0.string(model.name) }
                object.member("versions") { $0.list(model.versions) { $0.string($1) } }
                object.member("platform") { $0.string(model.platform) }
                object.member("inputs") { $0.list(model.inputs) { $0.tensorMetadata($1) } }
                object.member("outputs") { $0.list(model.outputs) { $0.tensorMetadata($1) } }
            }
        }
    }

    private func statistics(_ model: String?, _ version: String?) throws -> Response {
        let stats = try server.statistics(model: model, version: version)
        return Response.json { writer in
            writer.object { object in
                object.member("model_stats") { $0.list(stats) { $0.modelStatistics($1) } }
            }
        }
    }
}
