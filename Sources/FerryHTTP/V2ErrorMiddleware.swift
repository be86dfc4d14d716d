import FerryCore
import Hummingbird
import NIOCore

/// Answers every failure as the v2 protocol's `{"error": "<message>"}` with
/// the status `FerryError` maps to (400, 404, 413, 503, …).
struct V2ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxRequestBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Refused from the header, at once, instead of after waiting for a body
        // that will be refused anyway; ConnectionGuard closes the connection
        // once the answer is written, the body unread.
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > maxRequestBytes {
            var response = Response.v2Error(
                "request body is larger than the server accepts (Content-Length \(declared); at most \(maxRequestBytes) bytes, --max-request-bytes)",
                status: .contentTooLarge)
            response.headers[.connection] = "close"
            return response
        }
        do {
            return try await next(request, context)
        } catch let error as FerryError {
            return .v2Error(error.message, status: .init(code: error.httpStatus))
        } catch is NIOTooManyBytesError {
            return .v2Error(
                "request body is larger than the server accepts (\(maxRequestBytes) bytes, --max-request-bytes)", status: .contentTooLarge)
        } catch let error as HTTPError {
            if error.status == .notFound {
                return .v2Error("no such endpoint: \(request.method) \(request.uri.path)", status: .notFound)
            }
            return .v2Error(error.body ?? "\(error.status)", status: error.status)
        }
    }
}

extension Response {
    static func v2Error(_ message: String, status: HTTPResponse.Status) -> Response {
        var writer = JSONWriter()
        writer.object { $0.member("error") { $0.string(message) } }
        return .json(writer.bytes, status: status)
    }

    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json", .contentLength: String(bytes.count)],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }

    static func json(_ write: (inout JSONWriter) -> Void) -> Response {
        var writer = JSONWriter()
        write(&writer)
        return .json(writer.bytes)
    }
}
