import FerryCore
import FerryTelemetry
import NIOCore
import NIOHPACK
import NIOHTTP2

/// First in each gRPC stream, so it sees every frame in and out, refusals
/// by `StreamGuard` included: gives the call its id (the client's
/// `x-request-id` or a new one), echoes it in the first response headers,
/// counts message bytes, reads the model from the first message, starts the
/// call's trace span (continuing the client's `traceparent`), and writes the
/// call's access-log line when its status goes out or the stream ends.
final class StreamObserver: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let log: AccessLog
    private let tracing: RequestTracing?
    let record = AccessRecord()
    private var headersSent = false
    private var written = false
    private var firstMessage: ByteBuffer?

    init(log: AccessLog, tracing: RequestTracing?) {
        self.log = log
        self.tracing = tracing
        record.transport = "gRPC"
        record.method = "POST"
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .headers(let headers) where record.route.isEmpty:
            record.started = .now
            // One pass, names compared exactly: HTTP/2 header names are lowercase
            // (NIOHTTP2 refuses others), and `first(name:)` per field compared
            // every field case-insensitively, a tenth of this handler's cost.
            var path = "", requestID: String?, traceparent: String?, tracestate: String?
            for (name, value, _) in headers.headers {
                switch name {
                case ":path": path = value
                case "x-request-id": requestID = value
                case "traceparent": traceparent = value
                case "tracestate": tracestate = value
                default: break
                }
            }
            record.route = String(path.prefix(256))
            record.requestID = RequestID.accept(requestID)
            record.client = (context.channel.parent ?? context.channel).remoteAddress?.ipAddress
            if let tracing {
                let span = tracing.start(String(record.route.dropFirst()), traceparent: traceparent, tracestate: tracestate)
                span.set("rpc.system", "grpc")
                span.set("rpc.method", record.route)
                span.set("ferry.request_id", record.requestID)
                record.span = span
            }
        case .data(let frame):
            if case .byteBuffer(let bytes) = frame.data {
                record.bytesIn += bytes.readableBytes
                readModel(from: bytes)
            }
        default:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .headers(var headers):
            if !headersSent {
                headersSent = true
                headers.headers.add(name: "x-request-id", value: record.requestID)
            }
            if headers.endStream {
                record.status = headers.headers.first { $0.name == "grpc-status" }.flatMap { Int($0.value) } ?? 2
                finish()
            }
            context.write(wrapOutboundOut(.headers(headers)), promise: promise)
            return
        case .data(let frame):
            record.bytesOut += frame.data.readableBytes
        default:
            break
        }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Reset or cut off before a status went out: CANCELLED, as the client sees it.
        record.status = 1
        finish()
        context.fireChannelInactive()
    }

    private func finish() {
        guard !written, !record.route.isEmpty else { return }
        written = true
        log.write(record)
        guard let span = record.span else { return }
        span.set("rpc.grpc.status_code", record.status)
        if let model = record.model { span.set("ferry.model", model) }
        if let credential = record.credential { span.set("enduser.id", credential) }
        // As OpenTelemetry's gRPC conventions have it for servers: the codes that mean the server failed.
        span.end(failed: [2, 4, 12, 13, 14, 15].contains(record.status) ? "gRPC status \(record.status)" : nil)
    }

    /// The inference protocol's requests that name a model carry its name
    /// and version as fields 1 and 2 (`ModelInferRequest`, `ModelReadyRequest`,
    /// …), which protobuf writers put first: read from the first message's
    /// opening bytes (after gRPC's 5-byte prefix), however it was split into frames.
    private func readModel(from bytes: ByteBuffer) {
        guard record.model == nil, record.route.hasPrefix("/inference.GRPCInferenceService/Model") else { return }
        var buffer = firstMessage ?? ByteBuffer()
        guard buffer.readableBytes < 600 else { return }
        var incoming = bytes
        buffer.writeBuffer(&incoming)
        firstMessage = buffer
        guard buffer.readableBytes > 5 else { return }
        buffer.moveReaderIndex(forwardBy: 5)
        var fields: [UInt8: String] = [:]
        while let tag = buffer.readInteger(as: UInt8.self), tag == 0x0a || tag == 0x12, let length = Self.readVarint(&buffer),
            length <= 256, let text = buffer.readString(length: Int(length))
        {
            fields[tag] = text
        }
        guard let name = fields[0x0a] else { return }
        record.model = name
        if let version = fields[0x12], !version.isEmpty { record.version = version }
    }

    private static func readVarint(_ buffer: inout ByteBuffer) -> UInt64? {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 35, by: 7) {
            guard let byte = buffer.readInteger(as: UInt8.self) else { return nil }
            value |= UInt64(byte & 0x7f) << UInt64(shift)
            if byte & 0x80 == 0 { return value }
        }
        return nil
    }
}
