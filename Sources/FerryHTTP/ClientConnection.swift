import FerryCore
import FerrySecurity
import FerryTelemetry
import FerryServing
import Hummingbird
import NIOCore
import Synchronization

/// One client's HTTP connection, as the routes see it. HTTP/1 has no cancel
/// message: a client that gives up closes the connection, and the requests
/// it was waiting for should leave the queue (or stop running) as a
/// cancelled gRPC call does.
final class ClientConnection: Sendable {
    private struct State {
        var closed = false
        var nextID = 0
        var waiting: [Int: Cancellation] = [:]
    }

    private let state = Mutex(State())

    /// Withdraws the request if the client goes away before `body` returns.
    func cancellingOnClose<T>(_ cancellation: Cancellation, _ body: () async throws -> T) async throws -> T {
        let id = state.withLock { state -> Int? in
            guard !state.closed else { return nil }
            state.nextID += 1
            state.waiting[state.nextID] = cancellation
            return state.nextID
        }
        guard let id else {
            cancellation.cancel()
            return try await body()
        }
        defer { _ = state.withLock { $0.waiting.removeValue(forKey: id) } }
        return try await body()
    }

    func close() {
        let waiting = state.withLock { state in
            state.closed = true
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        for cancellation in waiting { cancellation.cancel() }
    }

    // MARK: Open connections by channel

    private static let open = Mutex<[ObjectIdentifier: ClientConnection]>([:])

    static func of(_ channel: any Channel) -> ClientConnection? {
        open.withLock { $0[ObjectIdentifier(channel)] }
    }

    /// Added to each HTTP/1 connection's pipeline: records the connection
    /// while it is open and closes it when the client's side ends (the
    /// server allows half-closure, so that is `inputClosed`, not inactive).
    final class Watcher: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = Any

        private let connection = ClientConnection()

        func handlerAdded(context: ChannelHandlerContext) {
            let connection = connection
            ClientConnection.open.withLock { $0[ObjectIdentifier(context.channel)] = connection }
        }

        func handlerRemoved(context: ChannelHandlerContext) { forget(context.channel) }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case .inputClosed? = event as? ChannelEvent { connection.close() }
            context.fireUserInboundEventTriggered(event)
        }

        func channelInactive(context: ChannelHandlerContext) {
            forget(context.channel)
            context.fireChannelInactive()
        }

        private func forget(_ channel: any Channel) {
            connection.close()
            _ = ClientConnection.open.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }
}

/// The request context of Ferry's HTTP routes: Hummingbird's, plus the
/// client's connection (absent when the router runs without sockets, in tests).
public struct FerryRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let connection: ClientConnection?
    /// The client's IP address, which keys rate limits without authentication.
    let clientAddress: String?
    /// Who sent the request, when authentication is on (`AccessMiddleware`).
    var credential: Credential? {
        didSet { record.credential = credential?.name }
    }
    /// The request's access-log line, which the middlewares fill in.
    let record = AccessRecord()

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        connection = ClientConnection.of(source.channel)
        clientAddress = source.channel.remoteAddress?.ipAddress
        record.client = clientAddress
        // An HTTP/2 stream's parent is its connection, whose parent is the listening socket.
        record.transport = source.channel.parent?.parent == nil ? "HTTP/1.1" : "HTTP/2"
    }
}
