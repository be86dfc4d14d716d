import FerryCore
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Holds an HTTP/1 connection to `ConnectionPolicy`: refuses it with 503
/// when the server has no place for it, closes it when idle too long, and
/// answers 408 (or closes, mid-body) a client that sends its request too
/// slowly or stops reading its answer. It sits after the HTTP decoder, which
/// passes on a read-complete event for every read from the socket, even one
/// that completed no part of a request: that is how bytes of a head still
/// arriving are seen. A response that says `Connection: close` closes the
/// connection once written, its request's body unread.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Reading {
        /// Between requests.
        case none
        /// Bytes of a request head arrived; the head is not complete.
        case head
        /// The head arrived; the body is arriving.
        case body
    }

    private enum Deadline: Equatable {
        case none, idle, head, body, write
    }

    private let policy: ConnectionPolicy
    /// nil where the connection was admitted before this handler (over TLS,
    /// and on each stream of an HTTP/2 connection).
    private let count: ConnectionCount?
    private var admitted = false
    private var reading = Reading.none
    /// Requests whose head was read and whose response has not ended.
    private var unanswered = 0
    /// Whether the server asked for more bytes and none came yet: only then
    /// is a pause in a body the client's.
    private var awaitingBytes = false
    private var closeAfterResponse = false
    private var deadline: (kind: Deadline, task: Scheduled<Void>)?

    init(policy: ConnectionPolicy, count: ConnectionCount?) {
        self.policy = policy
        self.count = count
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // Over TLS this handler joins once ALPN chose HTTP/1.1, long after the connection became active.
        if count == nil && context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        start(context)
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !admitted else { return }
        admitted = count?.admit() ?? true
        guard admitted else {
            let maximum = count?.maximum ?? 0
            refuse(context, .serviceUnavailable, "the server has no room for another connection (at most \(maximum)); retry shortly")
            return
        }
        update(context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.task.cancel()
        deadline = nil
        if admitted {
            admitted = false
            count?.release()
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard admitted else { return }
        switch unwrapInboundIn(data) {
        case .head:
            reading = .body
            unanswered += 1
        case .body:
            break
        case .end:
            reading = .none
        }
        awaitingBytes = false
        update(context)
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        awaitingBytes = false
        // The first bytes of a head, between requests: it has headerTimeout to complete.
        if reading == .none && unanswered == 0 { reading = .head }
        update(context)
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        awaitingBytes = true
        update(context)
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        update(context)
        context.fireChannelWritabilityChanged()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            if head.headerFields[.connection]?.lowercased() == "close" { closeAfterResponse = true }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            unanswered = max(unanswered - 1, 0)
            update(context)
            guard closeAfterResponse else {
                context.write(data, promise: promise)
                return
            }
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            context.write(data, promise: written)
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.futureResult.whenComplete { _ in Self.closeSoon(loopBound.value) }
        }
    }

    /// The one deadline the connection's state calls for, armed when it changes.
    private func update(_ context: ChannelHandlerContext) {
        let wanted: Deadline
        if !context.channel.isWritable {
            // Output is backed up: the client is not reading its answer (a
            // whole answer may be handed over at once, so this holds even
            // when no request is unanswered any more).
            wanted = .write
        } else {
            switch reading {
            case .head: wanted = .head
            case .body: wanted = awaitingBytes ? .body : .none
            case .none: wanted = unanswered == 0 ? .idle : .none
            }
        }
        // A head's deadline runs from its first byte; the others from now.
        if wanted == deadline?.kind && (wanted == .head || wanted == .idle) { return }
        deadline?.task.cancel()
        deadline = nil
        let timeout: Duration
        switch wanted {
        case .none: return
        case .idle: timeout = policy.idleTimeout
        case .head: timeout = policy.headerTimeout
        case .body: timeout = policy.bodyTimeout
        // Writability comes back only when the backlog drains below NIO's
        // low watermark: a slow download of a large answer needs time.
        case .write: timeout = policy.idleTimeout
        }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let task = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            let (handler, context) = loopBound.value
            handler.expire(context, wanted)
        }
        deadline = (wanted, task)
    }

    private func expire(_ context: ChannelHandlerContext, _ kind: Deadline) {
        deadline = nil
        switch kind {
        case .head:
            refuse(context, .requestTimeout, "the request's headers did not arrive within \(Self.seconds(policy.headerTimeout))")
        case .idle, .body, .write, .none:
            // Mid-body the route owns the response; idle or not reading, there is no one to answer.
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
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in Self.closeSoon(loopBound.value) }
    }

    /// Closing at once with the client's request unread would reset the
    /// connection before the client reads the answer: end the output, and
    /// close the rest a moment later.
    private static func closeSoon(_ context: ChannelHandlerContext) {
        context.close(mode: .output, promise: nil)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .milliseconds(500)) { loopBound.value.close(promise: nil) }
    }

    private static func seconds(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }
}
