import FerryCore
import FerrySecurity
import FerryTelemetry
import GRPCCore
import NIOCore
import NIOExtras
import NIOHPACK
import NIOHTTP2
import NIOPosix
import Synchronization

/// Ferry's gRPC server transport, on SwiftNIO's HTTP/2 (plaintext, h2c with
/// prior knowledge, as gRPC clients speak it). Each HTTP/2 stream gets the
/// handlers `prepareStream` installs — the inference fast path — in front of
/// an `RPCBridgeHandler`, which hands every other RPC to grpc-swift's server.
///
/// grpc-swift-nio-transport wraps every stream in an `NIOAsyncChannel` and a
/// task before any handler of Ferry's could claim it: 190k instructions per
/// ModelInfer (callgrind), a third of the fast path's cost. This transport
/// creates a stream's async side only for the RPCs that go to grpc-swift.
final class GRPCTransport: ServerTransport, Sendable {
    typealias Bytes = GRPCMessageBytes

    struct Settings: Sendable {
        var host: String
        var port: Int
        /// The largest request message read, from its length prefix.
        var messageLimit: Int
        /// `--max-request-bytes`, named in the refusal of a message over `messageLimit`.
        var tensorLimit: Int
        var connections: ConnectionPolicy
        /// Shared with the server's other endpoints.
        var connectionCount: ConnectionCount
        /// gRPC over TLS (ALPN h2) instead of h2c.
        var tls: ServerTLS?
        var access: AccessControl?
        var accessLog = AccessLog(enabled: false)
        var tracing: RequestTracing?
        /// Concurrent streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS).
        var maxConcurrentStreams = 256
        /// Flow-control window of each stream and of the connection: large
        /// enough that a CNN's input (0.6 MB) arrives without waiting on
        /// WINDOW_UPDATEs.
        var windowSize = 1 << 20
    }

    private struct State {
        /// Starts the graceful shutdown, once the listener exists.
        var shutdown: (@Sendable () -> Void)?
        var shutdownRequested = false
    }

    private let settings: Settings
    private let prepareStream: @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void
    private let state = Mutex(State())
    private let bound: EventLoopPromise<SocketAddress?>

    init(settings: Settings, prepareStream: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void) {
        self.settings = settings
        self.prepareStream = prepareStream
        self.bound = MultiThreadedEventLoopGroup.singleton.any().makePromise()
    }

    deinit {
        bound.succeed(nil)
    }

    /// The address the server listens on, once it does (nil if it never did).
    var listeningAddress: SocketAddress? {
        get async { try? await bound.futureResult.get() }
    }

    func listen(
        streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void
    ) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let quiescing = ServerQuiescingHelper(group: group)
        let (rpcs, sink) = AsyncStream<BridgedRPC>.makeStream()
        let settings = self.settings
        let prepareStream = self.prepareStream
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                    }
                }
                .childChannelInitializer { connection in
                    connection.eventLoop.makeCompletedFuture {
                        try Self.configure(connection, settings: settings, rpcs: sink, prepareStream: prepareStream)
                    }
                }
                .bind(host: settings.host, port: settings.port)
                .get()
        } catch {
            bound.succeed(nil)
            throw error
        }
        let shutDownAlready = state.withLock { state in
            state.shutdown = {
                let closed = group.any().makePromise(of: Void.self)
                closed.futureResult.whenComplete { _ in sink.finish() }
                quiescing.initiateShutdown(promise: closed)
            }
            return state.shutdownRequested
        }
        bound.succeed(channel.localAddress)
        if shutDownAlready { beginGracefulShutdown() }

        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { running in
                for await rpc in rpcs {
                    running.addTask { await rpc.run(streamHandler) }
                }
            }
        } onCancel: {
            channel.close(promise: nil)
            sink.finish()
        }
    }

    func beginGracefulShutdown() {
        let shutdown = state.withLock { state in
            state.shutdownRequested = true
            defer { state.shutdown = nil }
            return state.shutdown
        }
        shutdown?()
    }

    private static func configure(
        _ connection: any Channel,
        settings: Settings,
        rpcs: AsyncStream<BridgedRPC>.Continuation,
        prepareStream: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void
    ) throws {
        var connectionConfiguration = NIOHTTP2Handler.ConnectionConfiguration()
        connectionConfiguration.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: settings.maxConcurrentStreams),
            HTTP2Setting(parameter: .maxHeaderListSize, value: StreamGuard.connectionLimit),
            HTTP2Setting(parameter: .initialWindowSize, value: settings.windowSize),
        ]
        connectionConfiguration.targetWindowSize = settings.windowSize
        // A header list up to that size arrives in CONTINUATION frames of
        // 16 KB (the default frame size); more of them in a row is a flood.
        connectionConfiguration.maximumSequentialContinuationFrames = StreamGuard.connectionLimit / (16 << 10)
        var streamConfiguration = NIOHTTP2Handler.StreamConfiguration()
        streamConfiguration.targetWindowSize = settings.windowSize
        let lifecycle = ConnectionLifecycle(policy: settings.connections)
        let access = settings.access.flatMap { $0.isActive ? $0 : nil }
        _ = try connection.pipeline.syncOperations.configureHTTP2Pipeline(
            mode: .server,
            connectionConfiguration: connectionConfiguration,
            streamConfiguration: streamConfiguration,
            streamDelegate: lifecycle
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                let handlers = stream.pipeline.syncOperations
                try handlers.addHandler(RPCBridgeHandler(rpcs: rpcs, messageLimit: settings.messageLimit, tensorLimit: settings.tensorLimit))
                try prepareStream(handlers)
                let observer =
                    settings.accessLog.enabled || settings.tracing != nil
                    ? StreamObserver(log: settings.accessLog, tracing: settings.tracing) : nil
                try handlers.addHandler(StreamGuard(policy: settings.connections, access: access, record: observer?.record), position: .first)
                if let observer { try handlers.addHandler(observer, position: .first) }
            }
        }
        let handlers = connection.pipeline.syncOperations
        try handlers.addHandler(lifecycle)
        if let tls = settings.tls {
            // Over TLS a refusal cannot be said in HTTP/2 before the handshake: the guard closes instead.
            try handlers.addHandler(TLSHandshakeGuard(count: settings.connectionCount, timeout: settings.connections.headerTimeout), position: .first)
            try handlers.addHandler(tls.makeHandler(), position: .first)
        } else {
            try handlers.addHandler(ConnectionGate(count: settings.connectionCount), position: .first)
        }
    }
}
