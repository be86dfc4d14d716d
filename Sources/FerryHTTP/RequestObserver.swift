import FerryCore
import FerryTelemetry
import HTTPTypes
import Hummingbird

/// First around every route: gives the request its id (the client's
/// `X-Request-ID` or a new one), echoes it in the response, starts its trace
/// span (continuing the client's `traceparent`), and writes the request's
/// access-log line once the response is ready.
struct RequestObserver: RouterMiddleware {
    typealias Context = FerryRequestContext

    static let requestID = HTTPField.Name("X-Request-ID")!
    static let traceparent = HTTPField.Name("traceparent")!
    static let tracestate = HTTPField.Name("tracestate")!

    let log: AccessLog
    let tracing: RequestTracing?

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
        if let tracing {
            let span = tracing.start(
                "\(record.method) \(record.route)", traceparent: request.headers[Self.traceparent], tracestate: request.headers[Self.tracestate])
            span.set("http.request.method", record.method)
            span.set("http.route", record.route)
            span.set("url.path", String(request.uri.path.prefix(256)))
            span.set("ferry.request_id", record.requestID)
            if let model = record.model { span.set("ferry.model", model) }
            if let version = record.version { span.set("ferry.model_version", version) }
            record.span = span
        }
        do {
            var response = try await next(request, context)
            response.headers[Self.requestID] = record.requestID
            record.status = response.status.code
            record.bytesOut = response.body.contentLength ?? response.headers[.contentLength].flatMap { Int($0) } ?? 0
            finish(record)
            return response
        } catch {
            record.status = (error as? any HTTPResponseError)?.status.code ?? 500
            finish(record)
            throw error
        }
    }

    private func finish(_ record: AccessRecord) {
        log.write(record)
        guard let span = record.span else { return }
        span.set("http.response.status_code", record.status)
        if let credential = record.credential { span.set("enduser.id", credential) }
        // Server spans are errors for 5xx only: a 4xx is the client's.
        span.end(failed: record.status >= 500 ? "HTTP \(record.status)" : nil)
    }
}
