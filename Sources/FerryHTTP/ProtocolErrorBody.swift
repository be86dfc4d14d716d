import FerryCore
import HTTPTypes
import HummingbirdCore
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Gives the 400 that Hummingbird writes for a request its HTTP parser
/// refuses (headers too large, an unknown method, Content-Length with chunked
/// encoding, a malformed request line) the v2 error body every other error
/// has, naming what was wrong. Hummingbird answers those before any route or
/// middleware runs, with an empty body; this handler sits in the pipeline,
/// notes the parser's error and fills the body in as the 400 goes out.
final class ProtocolErrorBody: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var parseError: HTTPParserError?

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? HTTPParserError { parseError = error }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard let error = parseError, case .head(var head) = unwrapOutboundIn(data), head.status == .badRequest else {
            context.write(data, promise: promise)
            return
        }
        parseError = nil
        var writer = JSONWriter()
        writer.object { $0.member("error") { $0.string("malformed HTTP request: \(Self.describe(error))") } }
        head.headerFields[.contentType] = "application/json"
        head.headerFields[.contentLength] = String(writer.bytes.count)
        context.write(wrapOutboundOut(.head(head)), promise: promise)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: writer.bytes))), promise: nil)
    }

    static func describe(_ error: HTTPParserError) -> String {
        switch error {
        case .headerOverflow: "the request line and headers are larger than the server reads (80 KB)"
        case .invalidMethod: "unknown method"
        case .invalidURL, .invalidPath, .invalidQueryString, .invalidFragment: "the URL in the request line is malformed"
        case .unexpectedContentLength: "Content-Length together with chunked transfer encoding"
        case .invalidContentLength: "the Content-Length is not a number"
        case .invalidVersion: "unknown HTTP version"
        case .invalidHeaderToken, .invalidCharactersUsed: "a header name or value has characters HTTP does not allow"
        case .invalidChunkSize: "a chunk size is malformed"
        // llhttp reports Content-Length with chunked encoding, among others, as "unknown".
        case .unknown: "its framing is not valid HTTP/1.1 (Content-Length together with chunked transfer encoding, for example)"
        default: "\(error)"
        }
    }
}
