import FerryCore
import FerryTelemetry
import HTTPTypes
import Hummingbird

/// First around every route: gives the request its id (the client's
/// `X-Request-ID` or a new one), echoes it in the response, and writes the
/// request's access-log line once the response is ready.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = FerryRequestContext

    static let requestID = HTTPField.Name("X-Request-ID")!

    let log: AccessLog

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let record = context.record
        record.requestID = RequestID.accept(request.headers[Self.requestID])
        record.method = request.method.rawValue
        if let route = context.endpointPath, route != "NotFound" {
            record.route = route
            record.model = try? context.parameters.decoded("model")
            record.version = context.parameters.get("version")
        } else {
            record.route = String(request.uri.path.prefix(256))
        }
        record.bytesIn = request.headers[.contentLength].flatMap { Int($0) } ?? 0
        do {
            var response = try await next(request, context)
            response.headers[Self.requestID] = record.requestID
            record.status = response.status.code
            record.bytesOut = response.body.contentLength ?? response.headers[.contentLength].flatMap { Int($0) } ?? 0
            log.write(record)
            return response
        } catch {
            record.status = (error as? any HTTPResponseError)?.status.code ?? 500
            log.write(record)
            throw error
        }
    }
}
