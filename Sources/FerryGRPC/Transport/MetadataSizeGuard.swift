import NIOCore
import NIOHTTP2

/// The first handler of each HTTP/2 stream: a call whose request metadata is
/// larger than `limit` (HPACK's measure: name, value and 32 bytes per entry)
/// is answered RESOURCE_EXHAUSTED, and the rest of its frames are dropped.
/// The connection advertises and decodes a far larger header list, so such a
/// call costs only itself: HTTP/2 would otherwise end the whole connection
/// with GOAWAY, taking every other call on it along.
final class MetadataSizeGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    /// What the connection accepts as a header list (SETTINGS_MAX_HEADER_LIST_SIZE).
    static let connectionLimit = 1 << 20
    /// What one call may carry: gRPC's usual bound is 8–16 KB.
    static let callLimit = 64 << 10

    private var refused = false
    private var checked = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        if !checked, case .headers(let headers) = unwrapInboundIn(data) {
            checked = true
            let size = headers.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 32 }
            if size > Self.callLimit {
                refused = true
                let message = "the request's metadata is \(size) bytes; at most \(Self.callLimit) are accepted"
                context.writeAndFlush(
                    wrapOutboundOut(GRPCResponseFrames.status(8, message: message, trailersOnly: true)), promise: nil)
                return
            }
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !refused { context.fireChannelReadComplete() }
    }
}
