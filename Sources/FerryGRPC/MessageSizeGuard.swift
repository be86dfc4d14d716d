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
final class MessageSizeGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let limit: Int
    private let tensorLimit: Int
    /// How many bytes of the next message's 5-byte prefix were read, and
    /// the length they spell so far (the first byte is the compression flag).
    private var prefixRead = 0
    private var length = 0
    /// Body bytes of the current message still to come.
    private var remaining = 0
    private var refused = false
    /// Whether the response's headers went out (a streaming RPC sends them
    /// early): then the refusal is trailers alone.
    private var respondedHeaders = false

    /// Puts a guard first in a new HTTP/2 stream's pipeline.
    static func install(on stream: any Channel, limit: Int, tensorLimit: Int) -> EventLoopFuture<Void> {
        stream.eventLoop.makeCompletedFuture {
            try stream.pipeline.syncOperations.addHandler(MessageSizeGuard(limit: limit, tensorLimit: tensorLimit), position: .first)
        }
    }

    init(limit: Int, tensorLimit: Int) {
        self.limit = limit
        self.tensorLimit = tensorLimit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }  // the rest of a refused request goes nowhere
        guard case .data(let frame) = unwrapInboundIn(data), case .byteBuffer(var buffer) = frame.data else {
            context.fireChannelRead(data)
            return
        }
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
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .headers = unwrapOutboundIn(data) { respondedHeaders = true }
        context.write(data, promise: promise)
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
