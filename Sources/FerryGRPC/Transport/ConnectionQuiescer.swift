import NIOCore
import NIOHTTP2

/// A graceful shutdown for one HTTP/2 connection: on `ChannelShouldQuiesceEvent`
/// it sends GOAWAY naming the last stream the server accepted (the client
/// retries newer ones elsewhere, as they were never run), lets the open
/// streams finish, and closes the connection when none is left.
final class ConnectionQuiescer: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame

    private var openStreams = 0
    private var lastStream = HTTP2StreamID(0)
    private var quiescing = false

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let created as NIOHTTP2StreamCreatedEvent:
            openStreams += 1
            lastStream = max(lastStream, created.streamID)
        case is StreamClosedEvent:
            openStreams -= 1
            if quiescing && openStreams == 0 { context.close(promise: nil) }
        case is ChannelShouldQuiesceEvent:
            guard !quiescing else { return }
            quiescing = true
            let goAway = HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: lastStream, errorCode: .noError, opaqueData: nil))
            context.writeAndFlush(NIOAny(goAway), promise: nil)
            if openStreams == 0 { context.close(promise: nil) }
            return
        default:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }
}
