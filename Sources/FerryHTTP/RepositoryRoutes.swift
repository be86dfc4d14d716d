import FerryCore
import FerryServing
import Hummingbird
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Triton's model repository extension: index, load, unload.
struct RepositoryRoutes {
    let server: InferenceServer

    func register(on router: Router<FerryRequestContext>) {
        router.post("/v2/repository/index") { request, _ in
            let body = try await JSONBody.read(request, limit: 1 << 20)
            let readyOnly = body?["ready"] == .bool(true)
            let entries = await server.repositoryIndex(readyOnly: readyOnly)
            return Response.json { writer in
                writer.list(entries) { writer, entry in
                    writer.object { object in
                        object.member("name") { $0.string(entry.name) }
                        if let version = entry.version { object.member("version") { $0.string(version) } }
                        if let state = entry.state { object.member("state") { $0.string(state.rawValue) } }
                        if !entry.reason.isEmpty { object.member("reason") { $0.string(entry.reason) } }
                    }
                }
            }
        }
        router.post("/v2/repository/models/:model/load") { request, context in
            let name = try context.parameters.decoded("model")
            let body = try await JSONBody.read(request, limit: 1 << 20)
            var parameterNames: [String] = []
            if case .object(let parameters)? = body?["parameters"] { parameterNames = Array(parameters.keys) }
            try await server.loadModel(name, parameterNames: parameterNames)
            return Response(status: .ok)
        }
        router.post("/v2/repository/models/:model/unload") { _, context in
            try await server.unloadModel(try context.parameters.decoded("model"))
            return Response(status: .ok)
        }
    }
}

/// Reads an optional small JSON body.
enum JSONBody {
    static func read(_ request: Request, limit: Int) async throws -> JSONValue? {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw FerryError(.payloadTooLarge, "a repository request body may hold at most \(limit) bytes")
        }
        guard buffer.readableBytes > 0 else { return nil }
        return try buffer.withUnsafeReadableBytes { bytes in try JSONParser.parse(Data(bytes)) }
    }
}
