import FerryCore
import FerrySecurity
import FerryTelemetry
import FerryServing
import GRPCCore
import FerryProtocol
import Logging
import NIOCore
import ServiceLifecycle

/// The gRPC endpoint (port 8001) as a swift-service-lifecycle service: on
/// graceful shutdown it stops accepting RPCs and lets running ones finish.
public struct GRPCServerService: Service {
    let server: InferenceServer
    let host: String
    let port: Int
    let maxRequestBytes: Int
    let connections: ConnectionPolicy
    let connectionCount: ConnectionCount
    let tls: ServerTLS?
    let access: AccessControl?
    let accessLog: AccessLog
    let tracing: RequestTracing?
    let logger: Logger
    let onListening: @Sendable (Int) -> Void

    public init(
        server: InferenceServer,
        host: String,
        port: Int,
        maxRequestBytes: Int,
        connections: ConnectionPolicy = ConnectionPolicy(),
        connectionCount: ConnectionCount? = nil,
        tls: ServerTLS? = nil,
        access: AccessControl? = nil,
        accessLog: AccessLog = AccessLog(enabled: false),
        tracing: RequestTracing? = nil,
        logger: Logger,
        onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.server = server
        self.host = host
        self.port = port
        self.maxRequestBytes = maxRequestBytes
        self.connections = connections
        self.connectionCount = connectionCount ?? ConnectionCount(maximum: connections.maximumConnections)
        self.tls = tls
        self.access = access
        self.accessLog = accessLog
        self.tracing = tracing
        self.logger = logger
        self.onListening = onListening
    }

    /// The services grpc-swift runs (ModelInfer and ModelStreamInfer are
    /// answered before them, by the fast path, under the same names).
    public static func services(server: InferenceServer, maxRequestBytes: Int) -> [any RegistrableRPCService] {
        [
            GRPCInferenceService(server: server, maxRequestBytes: maxRequestBytes),
            TFServingPredictionService(server: server, maxRequestBytes: maxRequestBytes),
            TFServingModelService(server: server),
        ]
    }

    public func run() async throws {
        let streams = GRPCStreamShutdown()
        // Messages far beyond --max-request-bytes (protobuf framing cannot
        // double it) are refused from their length prefix, before they are
        // read; the services check the tensor bytes of the rest precisely.
        let messageLimit = maxRequestBytes * 2 + (1 << 20)
        let settings = GRPCTransport.Settings(
            host: host == "localhost" ? "127.0.0.1" : host, port: port, messageLimit: messageLimit, tensorLimit: maxRequestBytes,
            connections: connections, connectionCount: connectionCount, tls: tls, access: access, accessLog: accessLog,
            tracing: tracing)
        let server = self.server
        let maxRequestBytes = self.maxRequestBytes
        let traced = tracing != nil
        let transport = GRPCTransport(settings: settings) { stream in
            // ModelInfer and ModelStreamInfer never reach grpc-swift.
            try stream.addHandler(
                InferStreamHandler(
                    server: server, messageLimit: messageLimit, tensorLimit: maxRequestBytes, shutdown: streams, traced: traced),
                position: .first)
        }
        let grpc = GRPCServer(transport: transport, services: Self.services(server: server, maxRequestBytes: maxRequestBytes))
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await grpc.serve() }
                if let bound = await transport.listeningAddress {
                    onListening(bound.port ?? port)
                }
            }
        } onGracefulShutdown: {
            streams.begin()
            grpc.beginGracefulShutdown()
        }
    }
}
