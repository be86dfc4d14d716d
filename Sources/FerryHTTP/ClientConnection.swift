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
        var onClose: [Int: @Sendable () -> Void] = [:]
    }

    private let state = Mutex(State())

    /// Runs `body` in a task of its own that is cancelled if the client goes away first.
    func cancellingOnClose<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await body() }
        let id = state.withLock { state -> Int? in
            guard !state.closed else { return nil }
            state.nextID += 1
            state.onClose[state.nextID] = { task.cancel() }
            return state.nextID
        }
        if id == nil { task.cancel() }
        defer { if let id { _ = state.withLock { $0.onClose.removeValue(forKey: id) } } }
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }

    func close() {
        let actions = state.withLock { state in
            state.closed = true
            defer { state.onClose = [:] }
            return Array(state.onClose.values)
        }
        for action in actions { action() }
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

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        connection = ClientConnection.of(source.channel)
    }
}
