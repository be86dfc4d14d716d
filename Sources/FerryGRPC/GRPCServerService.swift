import FerryServing
import GRPCCore
import FerryProtocol
import GRPCNIOTransportCore
import GRPCNIOTransportHTTP2
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
    let logger: Logger
    let onListening: @Sendable (Int) -> Void

    public init(
        server: InferenceServer,
        host: String,
        port: Int,
        maxRequestBytes: Int,
        logger: Logger,
        onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.server = server
        self.host = host
        self.port = port
        self.maxRequestBytes = maxRequestBytes
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let address: GRPCNIOTransportCore.SocketAddress =
            host.contains(":") ? .ipv6(host: host, port: port) : .ipv4(host: host == "localhost" ? "127.0.0.1" : host, port: port)
        let streams = GRPCStreamShutdown()
        let transport = HTTP2ServerTransport.Posix(
            address: address,
            transportSecurity: .plaintext,
            // gRPC's default limit is 4 MiB; Ferry's is --max-request-bytes of tensor
            // data, checked by each service (see checkPayload) with a precise
            // message. Messages far beyond it (protobuf framing cannot double it)
            // are refused by MessageSizeGuard from their length prefix; the
            // transport's own limit, just above, never fires.
            config: .defaults { config in
                let messageLimit = maxRequestBytes * 2 + (1 << 20)
                config.rpc.maxRequestPayloadSize = messageLimit + 1
                let streaming = ["/" + Inference_GRPCInferenceService.Method.ModelStreamInfer.descriptor.fullyQualifiedMethod]
                config.channelDebuggingCallbacks.onAcceptHTTP2Stream = { stream in
                    stream.eventLoop.makeCompletedFuture {
                        let handlers = stream.pipeline.syncOperations
                        try handlers.addHandler(
                            MessageSizeGuard(limit: messageLimit, tensorLimit: maxRequestBytes, streamingPaths: streaming), position: .first)
                        // First of all: ModelInfer and ModelStreamInfer never reach grpc-swift.
                        try handlers.addHandler(
                            InferStreamHandler(server: server, messageLimit: messageLimit, tensorLimit: maxRequestBytes, shutdown: streams),
                            position: .first)
                    }
                }
            }
        )
        let grpc = GRPCServer(
            transport: transport,
            services: [
                GRPCInferenceService(server: server, maxRequestBytes: maxRequestBytes),
                TFServingPredictionService(server: server, maxRequestBytes: maxRequestBytes),
                TFServingModelService(server: server),
            ]
        )
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await grpc.serve() }
                if let bound = try await grpc.listeningAddress {
                    onListening(bound.ipv4?.port ?? bound.ipv6?.port ?? port)
                }
            }
        } onGracefulShutdown: {
            streams.begin()
            grpc.beginGracefulShutdown()
        }
    }
}
