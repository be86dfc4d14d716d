import FerryCore
import FerryJobs
import FerrySecurity
import FerryTelemetry
import FerryServing
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import NIOCore
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
    /// HTTPS (HTTP/2 and HTTP/1.1 by ALPN) instead of plain HTTP/1.1.
    public var tls: ServerTLS?
    /// Who may call what (nil: everyone, everything).
    public var access: AccessControl?
    public var accessLog: AccessLog
    public var tracing: RequestTracing?

    public init(
        host: String = "127.0.0.1",
        port: Int = 8000,
        maxRequestBytes: Int = 64 << 20,
        connections: ConnectionPolicy = ConnectionPolicy(),
        connectionCount: ConnectionCount? = nil,
        tls: ServerTLS? = nil,
        access: AccessControl? = nil,
        accessLog: AccessLog = AccessLog(enabled: false),
        tracing: RequestTracing? = nil
    ) {
        self.host = host
        self.port = port
        self.maxRequestBytes = maxRequestBytes
        self.connections = connections
        self.connectionCount = connectionCount
        self.tls = tls
        self.access = access
        self.accessLog = accessLog
        self.tracing = tracing
    }
}

/// How an endpoint's connections are set up: plain HTTP/1.1, or TLS with
/// HTTP/2 (when `http2`) and HTTP/1.1. `handlers(count)` makes the handlers
/// after the HTTP decoder, `count` nil where the connection was admitted
/// before them.
func serverBuilder(
    tls: ServerTLS?, http2: Bool, policy: ConnectionPolicy, count: ConnectionCount,
    handlers: @escaping @Sendable (ConnectionCount?) -> [any RemovableChannelHandler]
) -> HTTPServerBuilder {
    guard let tls else { return .http1(configuration: .init(additionalChannelHandlers: handlers(count))) }
    return HTTPServerBuilder { responder in
        SecureHTTPChannel(
            tls: tls,
            http1: HTTP1Channel(responder: responder, configuration: .init(additionalChannelHandlers: handlers(nil))),
            http2: http2
                ? HTTP2Channel(
                    responder: responder,
                    configuration: .init(
                        idleTimeout: policy.idleTimeout, streamConfiguration: .init(additionalChannelHandlers: handlers(nil))))
                : nil,
            policy: policy, count: count)
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
        router: buildV2Router(
            server: server, jobs: jobs, maxRequestBytes: configuration.maxRequestBytes, access: configuration.access,
            accessLog: configuration.accessLog, tracing: configuration.tracing),
        server: serverBuilder(tls: configuration.tls, http2: true, policy: policy, count: count) { count in
            [ClientConnection.Watcher(), ProtocolErrorBody(), ConnectionGuard(policy: policy, count: count)]
        },
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "ferry"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
}

/// The v2 routes, with errors answered as `{"error": "…"}`; the job routes when `jobs` is given.
public func buildV2Router(
    server: InferenceServer, jobs: JobService? = nil, maxRequestBytes: Int = 64 << 20, access: AccessControl? = nil,
    accessLog: AccessLog = AccessLog(enabled: false), tracing: RequestTracing? = nil
) -> Router<FerryRequestContext> {
    let router = Router(context: FerryRequestContext.self)
    if accessLog.enabled || tracing != nil { router.add(middleware: RequestObserver(log: accessLog, tracing: tracing)) }
    router.add(middleware: V2ErrorMiddleware(maxRequestBytes: maxRequestBytes))
    if let access, access.isActive { router.add(middleware: AccessMiddleware(access: access)) }
    HealthRoutes(server: server).register(on: router)
    MetadataRoutes(server: server).register(on: router)
    InferenceRoutes(server: server, jobs: jobs, maxRequestBytes: maxRequestBytes).register(on: router)
    if let jobs { JobRoutes(jobs: jobs).register(on: router) }
    RepositoryRoutes(server: server).register(on: router)
    TFServingRoutes(server: server, maxRequestBytes: maxRequestBytes).register(on: router)
    DocsRoutes(jobs: jobs != nil).register(on: router)
    return router
}
