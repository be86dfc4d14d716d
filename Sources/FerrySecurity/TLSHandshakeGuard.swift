import FerryCore
import NIOCore
import NIOTLS

/// Sits right after the TLS handler of a connection: takes the connection's
/// place in the server's `ConnectionCount` (closing it when none is left,
/// before the handshake costs anything more: TLS leaves no way to say why
/// before it), and closes a connection whose handshake has not completed
/// within `timeout`, which no later handler would notice.
public final class TLSHandshakeGuard: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = NIOAny

    private let count: ConnectionCount?
    private let timeout: Duration
    private var admitted = false
    private var deadline: Scheduled<Void>?

    /// - Parameter count: nil where another handler admits connections.
    public init(count: ConnectionCount?, timeout: Duration) {
        self.count = count
        self.timeout = timeout
    }

    public func channelActive(context: ChannelHandlerContext) {
        if let count {
            admitted = count.admit()
            guard admitted else {
                context.close(promise: nil)
                return
            }
        }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) { loopBound.value.close(promise: nil) }
        context.fireChannelActive()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent {
            deadline?.cancel()
            deadline = nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        if admitted {
            admitted = false
            count?.release()
        }
        context.fireChannelInactive()
    }
}
