import FerryCore
import NIOCore

/// The first handler of each gRPC connection: takes a place in the server's
/// `ConnectionCount`, or, when none is left, refuses the connection the way
/// HTTP/2 can before any stream exists — after the server's SETTINGS, which
/// the HTTP/2 handler sends as the connection becomes active, GOAWAY with
/// ENHANCE_YOUR_CALM and the reason as debug data — and closes it.
final class ConnectionGate: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let count: ConnectionCount
    private var admitted = false

    init(count: ConnectionCount) {
        self.count = count
    }

    func channelActive(context: ChannelHandlerContext) {
        admitted = count.admit()
        context.fireChannelActive()
        if !admitted { refuse(context) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if admitted {
            admitted = false
            count.release()
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // A refused client's bytes go nowhere.
        if admitted { context.fireChannelRead(data) }
    }

    private func refuse(_ context: ChannelHandlerContext) {
        let reason = "ferry: the server has no room for another connection (at most \(count.maximum)); retry shortly"
        var frames = ByteBuffer()
        // GOAWAY (type 0x7) on stream 0: last stream 0, ENHANCE_YOUR_CALM (0xb), the reason.
        let payload = 8 + reason.utf8.count
        frames.writeBytes([UInt8(truncatingIfNeeded: payload >> 16), UInt8(truncatingIfNeeded: payload >> 8), UInt8(truncatingIfNeeded: payload)])
        frames.writeBytes([0x7, 0, 0, 0, 0, 0])
        frames.writeInteger(UInt32(0))
        frames.writeInteger(UInt32(0xb))
        frames.writeString(reason)
        // Writing below the HTTP/2 handler, which never sees these bytes.
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(frames)).whenComplete { _ in
            let context = loopBound.value
            context.close(mode: .output, promise: nil)
            context.eventLoop.scheduleTask(in: .seconds(2)) { loopBound.value.close(promise: nil) }
        }
    }
}
