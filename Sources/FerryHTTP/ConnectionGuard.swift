import FerryCore
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Holds an HTTP/1 connection to `ConnectionPolicy`: refuses it with 503
/// when the server has no place for it, closes it when idle too long, and
/// answers 408 (or closes, mid-body) a client that sends its request too
/// slowly. It sits after the HTTP decoder, which passes on a read-complete
/// event for every read from the socket, even one that completed no part of
/// a request: that is how bytes of a head still arriving are seen.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        /// Between requests: nothing read since the last response.
        case idle
        /// Bytes of a request head arrived; the head is not complete.
        case readingHead
        /// The head arrived; the body is arriving.
        case readingBody
        /// The request was read whole; the server is answering it.
        case answering
    }

    private let policy: ConnectionPolicy
    private let count: ConnectionCount
    private var admitted = false
    private var state = State.idle
    private var deadline: Scheduled<Void>?

    init(policy: ConnectionPolicy, count: ConnectionCount) {
        self.policy = policy
        self.count = count
    }

    func channelActive(context: ChannelHandlerContext) {
        admitted = count.admit()
        guard admitted else {
            context.fireChannelActive()
            refuse(context, .serviceUnavailable, "the server has no room for another connection (at most \(count.maximum)); retry shortly")
            return
        }
        arm(context, after: policy.idleTimeout)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        if admitted {
            admitted = false
            count.release()
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard admitted else { return }
        switch unwrapInboundIn(data) {
        case .head:
            state = .readingBody
            arm(context, after: policy.bodyTimeout)
        case .body:
            break
        case .end:
            state = .answering
            deadline?.cancel()
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        switch state {
        case .idle:
            // The first bytes of a head: it has headerTimeout to complete.
            state = .readingHead
            arm(context, after: policy.headerTimeout)
        case .readingBody:
            arm(context, after: policy.bodyTimeout)
        case .readingHead, .answering:
            break
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), state == .answering {
            state = .idle
            arm(context, after: policy.idleTimeout)
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, after timeout: Duration) {
        deadline?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            let (handler, context) = loopBound.value
            handler.expire(context)
        }
    }

    private func expire(_ context: ChannelHandlerContext) {
        switch state {
        case .idle, .answering:
            context.close(promise: nil)
        case .readingHead:
            refuse(context, .requestTimeout, "the request's headers did not arrive within \(Self.seconds(policy.headerTimeout))")
        case .readingBody:
            // The route is already reading the body and owns the response.
            context.close(promise: nil)
        }
    }

    private func refuse(_ context: ChannelHandlerContext, _ status: HTTPResponse.Status, _ message: String) {
        var writer = JSONWriter()
        writer.object { $0.member("error") { $0.string(message) } }
        var head = HTTPResponse(status: status)
        head.headerFields[.contentType] = "application/json"
        head.headerFields[.contentLength] = String(writer.bytes.count)
        head.headerFields[.connection] = "close"
        if status == .serviceUnavailable { head.headerFields[.retryAfter] = "1" }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: writer.bytes))), promise: nil)
        // Closing at once with the client's request unread would reset the
        // connection before the client reads the answer: end the output,
        // and close the rest a moment later.
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            let context = loopBound.value
            context.close(mode: .output, promise: nil)
            context.eventLoop.scheduleTask(in: .seconds(2)) { loopBound.value.close(promise: nil) }
        }
    }

    private static func seconds(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }
}
