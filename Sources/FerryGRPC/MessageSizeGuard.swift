import NIOCore
import NIOHPACK
import NIOHTTP2

/// Refuses a gRPC request message far over the size limit by its length
/// prefix, before a byte of it is buffered, and answers RESOURCE_EXHAUSTED
/// (a trailers-only response) as gRPC servers do.
///
/// grpc-swift-nio-transport (2.9) checks its own limit the same way, but then
/// reports "Failed to decode message" and resets the stream, so clients see
/// CANCELLED. This handler sits first in each HTTP/2 stream's pipeline, below
/// the transport's limit, and only counts bytes: it reads the 5-byte prefix
/// of every message (a prefix may span DATA frames) and skips the bodies.
/// Messages under `limit` pass untouched, and the services check the tensor
/// bytes they hold against `--max-request-bytes` with a precise message.
///
/// It watches inbound frames only: intercepting every outbound frame cost 3%
/// of gRPC throughput. Whether the response's headers already went out (the
/// refusal is then trailers alone) matters only for streaming RPCs, whose
/// handler may answer before reading; for those, a `ResponseHeadersWatch`
/// follows the outbound side until the headers pass.
final class MessageSizeGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let limit: Int
    private let tensorLimit: Int
    /// Request paths of RPCs whose response may begin before the request is read.
    private let streamingPaths: [String]
    /// How many bytes of the next message's 5-byte prefix were read, and
    /// the length they spell so far (the first byte is the compression flag).
    private var prefixRead = 0
    private var length = 0
    /// Body bytes of the current message still to come.
    private var remaining = 0
    private var refused = false
    fileprivate var respondedHeaders = false

    init(limit: Int, tensorLimit: Int, streamingPaths: [String]) {
        self.limit = limit
        self.tensorLimit = tensorLimit
        self.streamingPaths = streamingPaths
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }  // the rest of a refused request goes nowhere
        switch unwrapInboundIn(data) {
        case .headers(let headers):
            // Pseudo-headers come first (RFC 9113 §8.3): stop at the first other one.
            for (name, value, _) in headers.headers {
                guard name.utf8.first == UInt8(ascii: ":") else { break }
                guard name == ":path" else { continue }
                if streamingPaths.contains(value) {
                    try? context.pipeline.syncOperations.addHandler(ResponseHeadersWatch(self), position: .first)
                }
                break
            }
        case .data(let frame):
            guard case .byteBuffer(var buffer) = frame.data else { break }
            while buffer.readableBytes > 0 {
                if remaining > 0 {
                    let skipped = min(remaining, buffer.readableBytes)
                    buffer.moveReaderIndex(forwardBy: skipped)
                    remaining -= skipped
                    continue
                }
                let byte = buffer.readInteger(as: UInt8.self)!
                if prefixRead > 0 { length = length << 8 | Int(byte) }
                prefixRead += 1
                guard prefixRead == 5 else { continue }
                if length > limit {
                    refuse(length, context: context)
                    return
                }
                remaining = length
                prefixRead = 0
                length = 0
            }
        default:
            break
        }
        context.fireChannelRead(data)
    }

    private func refuse(_ length: Int, context: ChannelHandlerContext) {
        refused = true
        let message =
            "request message of \(length) bytes is larger than the server accepts (\(tensorLimit) bytes of tensor data, --max-request-bytes)"
        var trailers: HPACKHeaders = [:]
        if !respondedHeaders {
            trailers.add(name: ":status", value: "200")
            trailers.add(name: "content-type", value: "application/grpc")
        }
        trailers.add(name: "grpc-status", value: "8")
        trailers.add(name: "grpc-message", value: message)
        context.write(wrapOutboundOut(.headers(.init(headers: trailers, endStream: true))), promise: nil)
        // The response is complete while the client is still sending: RST_STREAM
        // with NO_ERROR asks it to stop without error (RFC 9113 §8.1), so it
        // keeps the status above, and it closes the stream, which ends the
        // RPC's handler that waits for a message that will never come.
        context.writeAndFlush(wrapOutboundOut(.rstStream(.noError)), promise: nil)
    }
}

/// Tells a streaming RPC's guard when the response's headers go out, then
/// leaves the pipeline.
private final class ResponseHeadersWatch: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTP2Frame.FramePayload

    private let watched: MessageSizeGuard

    init(_ watched: MessageSizeGuard) {
        self.watched = watched
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .headers = unwrapOutboundIn(data) {
            watched.respondedHeaders = true
            context.write(data, promise: promise)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.write(data, promise: promise)
    }
}
