import FerryCore
import FerryJobs
import FerryServing
import Hummingbird
import Logging

/// Where and how the v2 HTTP endpoint listens.
public struct HTTPServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Larger request bodies are refused with 413 before they are read whole.
    public var maxRequestBytes: Int
    public var connections: ConnectionPolicy
    /// Shared with the server's other endpoints (nil: this endpoint's own).
    public var connectionCount: ConnectionCount?

    public init(
        host: String = "127.0.0.1",
        port: Int = 8000,
        maxRequestBytes: Int = 64 << 20,
        connections: ConnectionPolicy = ConnectionPolicy(),
        connectionCount: ConnectionCount? = nil
    ) {
        self.host = host
        self.port = port
        self.maxRequestBytes = maxRequestBytes
        self.connections = connections
        self.connectionCount = connectionCount
    }
}

/// The Hummingbird application serving the Open Inference Protocol's REST
/// API and Triton's extensions for `server`. `ferry serve` runs it; tests
/// drive the very same router without sockets.
public func buildHTTPApplication(
    server: InferenceServer,
    jobs: JobService? = nil,
    configuration: HTTPServerConfiguration,
    logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let policy = configuration.connections
    let count = configuration.connectionCount ?? ConnectionCount(maximum: policy.maximumConnections)
    return Application(
        router: buildV2Router(server: server, jobs: jobs, maxRequestBytes: configuration.maxRequestBytes),
        server: .http1(
            configuration: .init(additionalChannelHandlers: [
                ClientConnection.Watcher(), ProtocolErrorBody(), ConnectionGuard(policy: policy, count: count),
            ])),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "ferry"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
}

/// The v2 routes, with errors answered as `{"error": "…"}`; the job routes when `jobs` is given.
public func buildV2Router(server: InferenceServer, jobs: JobService? = nil, maxRequestBytes: Int = 64 << 20) -> Router<FerryRequestContext>
{
    let router = Router(context: FerryRequestContext.self)
    router.add(middleware: V2ErrorMiddleware(maxRequestBytes: maxRequestBytes))
    HealthRoutes(server: server).register(on: router)
    MetadataRoutes(server: server).register(on: router)
    InferenceRoutes(server: server, jobs: jobs, maxRequestBytes: maxRequestBytes).register(on: router)
    if let jobs { JobRoutes(jobs: jobs).register(on: router) }
    RepositoryRoutes(server: server).register(on: router)
    TFServingRoutes(server: server, maxRequestBytes: maxRequestBytes).register(on: router)
    DocsRoutes(jobs: jobs != nil).register(on: router)
    return router
}
