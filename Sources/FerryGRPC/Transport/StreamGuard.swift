import FerryCore
import FerrySecurity
import FerryTelemetry
import NIOCore
import NIOHPACK
import NIOHTTP2

/// The first handler of each HTTP/2 stream. A call whose request metadata is
/// larger than `callLimit` (HPACK's measure: name, value and 32 bytes per
/// entry) is answered RESOURCE_EXHAUSTED and the rest of its frames are
/// dropped: the connection advertises and decodes a far larger header list,
/// so such a call costs only itself, where HTTP/2 would otherwise end the
/// whole connection with GOAWAY. A call that `AccessControl` refuses for its
/// method's API group (`APIRoutes.grpc`) is answered UNAUTHENTICATED,
/// PERMISSION_DENIED or RESOURCE_EXHAUSTED the same way, before any of it
/// reaches a service. And a call whose client stops sending before
/// its request ends is reset: after `bodyTimeout` without a frame, or
/// `idleTimeout` between the messages of a streaming call.
final class StreamGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    /// What the connection accepts as a header list (SETTINGS_MAX_HEADER_LIST_SIZE).
    static let connectionLimit = 1 << 20
    /// What one call may carry: gRPC's usual bound is 8–16 KB.
    static let callLimit = 64 << 10

    private let policy: ConnectionPolicy
    private let access: AccessControl?
    /// The call's access-log line, where the credential's name goes.
    private let record: AccessRecord?
    private var refused = false
    private var headersSeen = false
    private var pause = Duration.zero
    private var stall: Scheduled<Void>?

    init(policy: ConnectionPolicy, access: AccessControl?, record: AccessRecord?) {
        self.policy = policy
        self.access = access
        self.record = record
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        let payload = unwrapInboundIn(data)
        var ended = false
        switch payload {
        case .headers(let headers):
            ended = headers.endStream
            if !headersSeen {
                headersSeen = true
                let size = headers.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 32 }
                if size > Self.callLimit {
                    refuse(context, 8, "the request's metadata is \(size) bytes; at most \(Self.callLimit) are accepted")
                    return
                }
                let path = headers.headers.first(name: ":path") ?? ""
                if let access {
                    let client = (context.channel.parent ?? context.channel).remoteAddress?.ipAddress
                    switch access.check(
                        scope: APIRoutes.grpc[path], authorization: headers.headers.first(name: "authorization"), client: client)
                    {
                    case .success(let credential):
                        record?.credential = credential?.name
                    case .failure(let refusal):
                        refuse(context, refusal.error.grpcStatusCode, refusal.error.message)
                        return
                    }
                }
                let streaming = path.hasSuffix("/ModelStreamInfer")
                pause = streaming ? policy.idleTimeout : policy.bodyTimeout
            }
        case .data(let data):
            ended = data.endStream
        default:
            break
        }
        if ended {
            stall?.cancel()
            stall = nil
        } else if headersSeen {
            arm(context)
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !refused { context.fireChannelReadComplete() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stall?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stall?.cancel()
        context.fireChannelInactive()
    }

    private func refuse(_ context: ChannelHandlerContext, _ status: Int, _ message: String) {
        refused = true
        stall?.cancel()
        context.writeAndFlush(wrapOutboundOut(GRPCResponseFrames.status(status, message: message, trailersOnly: true)), promise: nil)
    }

    private func arm(_ context: ChannelHandlerContext) {
        stall?.cancel()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        // Closing the stream's channel resets the stream (CANCEL); its RPC ends.
        stall = context.eventLoop.scheduleTask(in: TimeAmount(pause)) { loopBound.value.close(promise: nil) }
    }
}
