import NIOCore
import NIOHTTP2

/// A graceful shutdown for one HTTP/2 connection: on `ChannelShouldQuiesceEvent`
/// it sends GOAWAY naming the last stream the server accepted (the client
/// retries newer ones elsewhere, as they were never run), lets the open
/// streams finish, and closes the connection when none is left.
///
/// `@unchecked Sendable` because NIOHTTP2's stream delegate must be: its
/// callbacks, like the handler's, run on the connection's event loop, the
/// only place its state is touched.
final class ConnectionQuiescer: ChannelInboundHandler, NIOHTTP2StreamDelegate, @unchecked Sendable {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private var context: ChannelHandlerContext?
    private var openStreams = 0
    private var lastStream = HTTP2StreamID(0)
    private var quiescing = false

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func streamCreated(_ id: HTTP2StreamID, channel: any Channel) {
        openStreams += 1
        lastStream = max(lastStream, id)
    }

    func streamClosed(_ id: HTTP2StreamID, channel: any Channel) {
        openStreams -= 1
        if quiescing && openStreams == 0 { closeAfterPendingWrites() }
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
        let goAway = HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: lastStream, errorCode: .noError, opaqueData: nil))
        context.writeAndFlush(wrapOutboundOut(goAway), promise: nil)
        if openStreams == 0 { closeAfterPendingWrites() }
    }
}
