import FerryCore
import NIOCore
import NIOHTTP2

/// One HTTP/2 connection's life after it was admitted: a client must send its
/// preface and settings within `headerTimeout`; a connection without an open
/// stream for `idleTimeout` is closed with GOAWAY; and on
/// `ChannelShouldQuiesceEvent` (a graceful shutdown) it sends GOAWAY naming
/// the last stream the server accepted (the client retries newer ones
/// elsewhere, as they were never run), lets the open streams finish, and
/// closes the connection when none is left.
///
/// `@unchecked Sendable` because NIOHTTP2's stream delegate must be: its
/// callbacks, like the handler's, run on the connection's event loop, the
/// only place its state is touched.
final class ConnectionLifecycle: ChannelInboundHandler, NIOHTTP2StreamDelegate, @unchecked Sendable {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private let policy: ConnectionPolicy
    private var context: ChannelHandlerContext?
    private var openStreams = 0
    private var lastStream = HTTP2StreamID(0)
    private var quiescing = false
    private var settingsReceived = false
    private var deadline: Scheduled<Void>?

    init(policy: ConnectionPolicy) {
        self.policy = policy
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { arm(after: policy.headerTimeout, "no HTTP/2 preface and settings") }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(after: policy.headerTimeout, "no HTTP/2 preface and settings")
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !settingsReceived, case .settings(.settings) = unwrapInboundIn(data).payload {
            settingsReceived = true
            if openStreams == 0 { arm(after: policy.idleTimeout, "idle") }
        }
        context.fireChannelRead(data)
    }

    func streamCreated(_ id: HTTP2StreamID, channel: any Channel) {
        openStreams += 1
        lastStream = max(lastStream, id)
        if settingsReceived { deadline?.cancel() }
    }

    func streamClosed(_ id: HTTP2StreamID, channel: any Channel) {
        openStreams -= 1
        guard openStreams == 0 else { return }
        if quiescing {
            closeAfterPendingWrites()
        } else if settingsReceived {
            arm(after: policy.idleTimeout, "idle")
        }
    }

    private func arm(after timeout: Duration, _ reason: String) {
        guard let context else { return }
        deadline?.cancel()
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) { loopBound.value.expire(reason) }
    }

    /// Says why in GOAWAY's debug data, then closes.
    private func expire(_ reason: String) {
        guard let context, !quiescing else { return }
        quiescing = true
        let goAway = HTTP2Frame(
            streamID: .rootStream,
            payload: .goAway(lastStreamID: lastStream, errorCode: .noError, opaqueData: ByteBuffer(string: "ferry: connection \(reason)")))
        context.writeAndFlush(wrapOutboundOut(goAway), promise: nil)
        closeAfterPendingWrites()
    }

    /// A stream counts as closed when its last frame reaches the HTTP/2
    /// handler, before the connection flushed it: the close waits a tick.
    private func closeAfterPendingWrites() {
        guard let context else { return }
        context.flush()
        let loop = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.execute { loop.value.close(promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        guard !quiescing else { return }
        quiescing = true
        deadline?.cancel()
        let goAway = HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: lastStream, errorCode: .noError, opaqueData: nil))
        context.writeAndFlush(wrapOutboundOut(goAway), promise: nil)
        if openStreams == 0 { closeAfterPendingWrites() }
    }
}
