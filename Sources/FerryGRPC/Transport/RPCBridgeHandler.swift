import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One HTTP/2 stream as an RPC for grpc-swift's server (its router,
/// services, deadlines and statuses): request headers become metadata, DATA
/// frames become messages, and the response parts the service writes become
/// headers, DATA frames and trailers. Every RPC but the two the inference
/// fast path answers comes here.
final class RPCBridgeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let rpcs: AsyncStream<BridgedRPC>.Continuation
    private var reader: GRPCMessageReader
    private let tensorLimit: Int
    private var inbound: AsyncThrowingStream<RPCRequestPart<GRPCMessageBytes>, any Error>.Continuation?
    private var context: ChannelHandlerContext?
    private var started = false
    private var requestEnded = false
    private var respondedHeaders = false
    private var finished = false
    private var messages = 0
    private var cancellation: ServerContext.RPCCancellationHandle?

    init(rpcs: AsyncStream<BridgedRPC>.Continuation, messageLimit: Int, tensorLimit: Int) {
        self.rpcs = rpcs
        self.tensorLimit = tensorLimit
        self.reader = GRPCMessageReader(limit: messageLimit)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        switch unwrapInboundIn(data) {
        case .headers(let headers) where !started:
            started = true
            start(headers.headers, context: context)
            if headers.endStream { requestDidEnd() }
        case .headers(let trailers):
            if trailers.endStream { requestDidEnd() }
        case .data(let frame):
            if case .byteBuffer(let bytes) = frame.data {
                reader.append(bytes)
                readMessages()
            }
            if frame.endStream { requestDidEnd() }
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished {
            finished = true
            inbound?.finish(throwing: RPCError(code: .cancelled, message: "the client reset the stream"))
            cancellation?.cancel()
        }
        context.fireChannelInactive()
    }

    // MARK: Request

    private func start(_ headers: HPACKHeaders, context: ChannelHandlerContext) {
        var path = ""
        var method = ""
        var contentType = ""
        var encoding: String?
        var metadata = Metadata()
        for (name, value, _) in headers {
            switch name {
            case ":path": path = value
            case ":method": method = value
            case "content-type": contentType = value
            case "grpc-encoding": encoding = value
            default:
                // The rest is metadata, grpc-timeout included: grpc-swift applies the deadline.
                guard !name.hasPrefix(":") else { continue }
                if name.hasSuffix("-bin"), let bytes = Data(base64Encoded: Self.padded(value)) {
                    metadata.addBinary(Array(bytes), forKey: name)
                } else {
                    metadata.addString(value, forKey: name)
                }
            }
        }
        guard method == "POST" else {
            return respondHTTP(status: "405", "gRPC calls are POST requests")
        }
        guard contentType.hasPrefix("application/grpc") else {
            return respondHTTP(status: "415", "gRPC requests have content-type application/grpc")
        }
        if let encoding, encoding != "identity" {
            return finish(
                code: 12, message: "grpc-encoding '\(encoding)' is not supported: send messages uncompressed",
                extra: ["grpc-accept-encoding": "identity"])
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty else {
            return finish(code: 12, message: "'\(path)' is not a gRPC method path (/package.Service/Method)")
        }
        let descriptor = MethodDescriptor(fullyQualifiedService: String(parts[1]), method: String(parts[2]))
        let (requests, continuation) = AsyncThrowingStream<RPCRequestPart<GRPCMessageBytes>, any Error>.makeStream()
        continuation.yield(.metadata(metadata))
        inbound = continuation
        let rpc = BridgedRPC(
            descriptor: descriptor,
            requests: requests,
            writer: BridgedResponseWriter(handler: NIOLoopBound(self, eventLoop: context.eventLoop), eventLoop: context.eventLoop),
            remotePeer: Self.peer(context.channel.parent?.remoteAddress),
            localPeer: Self.peer(context.channel.parent?.localAddress))
        if case .terminated = rpcs.yield(rpc) {
            inbound = nil
            finish(code: 14, message: "the server is shutting down")
        }
    }

    /// Binary metadata travels base64-encoded, often without padding.
    private static func padded(_ base64: String) -> String {
        let remainder = base64.utf8.count % 4
        return remainder == 0 ? base64 : base64 + String(repeating: "=", count: 4 - remainder)
    }

    private static func peer(_ address: SocketAddress?) -> String {
        switch address {
        case .v4(let v4)?: "ipv4:\(v4.host):\(address!.port ?? 0)"
        case .v6(let v6)?: "ipv6:[\(v6.host)]:\(address!.port ?? 0)"
        case .unixDomainSocket?: "unix:\(address!.pathname ?? "")"
        case nil: "unknown"
        }
    }

    private func readMessages() {
        while !finished {
            do {
                guard let message = try reader.next() else { return }
                messages += 1
                // Every RPC that reaches here is unary: a second message is an
                // error grpc-swift reports, and more are not worth buffering.
                if messages <= 2 { inbound?.yield(.message(GRPCMessageBytes(message))) }
            } catch {
                let status = error.status(tensorLimit: tensorLimit)
                return finish(code: status.code, message: status.message)
            }
        }
    }

    private func requestDidEnd() {
        guard !requestEnded else { return }
        requestEnded = true
        if reader.hasPartialMessage {
            inbound?.finish(throwing: RPCError(code: .internalError, message: "the request ended inside a message"))
        } else {
            inbound?.finish()
        }
    }

    // MARK: Response (on the event loop)

    fileprivate func setCancellation(_ handle: ServerContext.RPCCancellationHandle) {
        cancellation = handle
        if finished { handle.cancel() }
    }

    fileprivate func write(_ part: RPCResponsePart<GRPCMessageBytes>) -> EventLoopFuture<Void>? {
        guard !finished, let context else { return nil }
        switch part {
        case .metadata(let metadata):
            respondedHeaders = true
            var fields: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]
            Self.add(metadata, to: &fields)
            return context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: fields))))
        case .message(let message):
            var frame = context.channel.allocator.buffer(capacity: 5 + message.count)
            frame.writeInteger(UInt8(0))
            frame.writeInteger(UInt32(message.count))
            var bytes = message.buffer
            frame.writeBuffer(&bytes)
            return context.writeAndFlush(wrapOutboundOut(.data(.init(data: .byteBuffer(frame)))))
        case .status(let status, let metadata):
            finish(code: status.code.rawValue, message: status.message, metadata: metadata)
            return nil
        }
    }

    fileprivate func writerFinished(_ error: (any Error)?) {
        guard !finished else { return }
        switch error {
        case nil: finish(code: 13, message: "the service ended the RPC without a status")
        case let error as RPCError: finish(code: error.code.rawValue, message: error.message)
        case let error?: finish(code: 13, message: "the RPC failed: \(error)")
        }
    }

    private func finish(code: Int, message: String, metadata: Metadata = [:], extra: HPACKHeaders = [:]) {
        guard !finished, let context else { return }
        finished = true
        guard case .headers(var trailers) = GRPCResponseFrames.status(code, message: message, trailersOnly: !respondedHeaders) else { return }
        Self.add(metadata, to: &trailers.headers)
        trailers.headers.add(contentsOf: extra)
        context.write(wrapOutboundOut(.headers(trailers)), promise: nil)
        if !requestEnded {
            // The answer is complete while the client still sends: RST_STREAM
            // NO_ERROR asks it to stop and keep the status (RFC 9113 §8.1).
            context.write(wrapOutboundOut(.rstStream(.noError)), promise: nil)
        }
        context.flush()
        inbound?.finish()
    }

    /// A request that is not gRPC at all gets a plain HTTP status.
    private func respondHTTP(status: String, _ reason: String) {
        guard let context else { return }
        finished = true
        context.write(wrapOutboundOut(.headers(.init(headers: [":status": status, "grpc-message": reason], endStream: true))), promise: nil)
        if !requestEnded { context.write(wrapOutboundOut(.rstStream(.noError)), promise: nil) }
        context.flush()
    }

    private static func add(_ metadata: Metadata, to fields: inout HPACKHeaders) {
        for (key, value) in metadata {
            switch value {
            case .string(let text): fields.add(name: key, value: text)
            case .binary(let bytes): fields.add(name: key, value: Data(bytes).base64EncodedString())
            }
        }
    }
}

/// An RPC the transport hands grpc-swift's server.
struct BridgedRPC: Sendable {
    let descriptor: MethodDescriptor
    let requests: AsyncThrowingStream<RPCRequestPart<GRPCMessageBytes>, any Error>
    let writer: BridgedResponseWriter
    let remotePeer: String
    let localPeer: String

    func run(
        _ handler: @Sendable (RPCStream<GRPCTransport.Inbound, GRPCTransport.Outbound>, ServerContext) async -> Void
    ) async {
        await withServerContextRPCCancellationHandle { cancellation in
            writer.setCancellation(cancellation)
            let stream = RPCStream(
                descriptor: descriptor,
                inbound: RPCAsyncSequence(wrapping: requests),
                outbound: RPCWriter.Closable(wrapping: writer))
            let context = ServerContext(descriptor: descriptor, remotePeer: remotePeer, localPeer: localPeer, cancellation: cancellation)
            await handler(stream, context)
        }
    }
}

/// Writes a service's response parts on the stream's event loop, one at a
/// time: each write waits for the one before to reach the connection.
struct BridgedResponseWriter: ClosableRPCWriterProtocol {
    typealias Element = RPCResponsePart<GRPCMessageBytes>

    let handler: NIOLoopBound<RPCBridgeHandler>
    let eventLoop: any EventLoop

    func setCancellation(_ handle: ServerContext.RPCCancellationHandle) {
        eventLoop.execute { handler.value.setCancellation(handle) }
    }

    func write(_ element: Element) async throws {
        let written = eventLoop.flatSubmit { handler.value.write(element) ?? eventLoop.makeSucceededVoidFuture() }
        try await written.get()
    }

    func write(contentsOf elements: some Sequence<Element>) async throws {
        for element in elements { try await write(element) }
    }

    func finish() async {
        eventLoop.execute { handler.value.writerFinished(nil) }
    }

    func finish(throwing error: any Error) async {
        eventLoop.execute { handler.value.writerFinished(error) }
    }
}
