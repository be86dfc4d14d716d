import FerryCore
import FerrySecurity
import HTTPTypes
import Hummingbird

/// Asks `AccessControl` about every request, with the API group `APIRoutes`
/// gives the matched route, and answers a refusal as the v2 protocol's
/// error body: 401 with `WWW-Authenticate`, 403, or 429 with `Retry-After`.
/// The credential it lets through is in the context for the routes (jobs
/// belong to it).
struct AccessMiddleware: RouterMiddleware {
    typealias Context = FerryRequestContext

    let access: AccessControl

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let scope: Scope?
        if let route = context.endpointPath, route != "NotFound" {
            guard let listed = APIRoutes.http["\(request.method) \(route)"] else {
                // Fail closed: a route missing from the table is a bug the route table test catches.
                return .v2Error("the route \(request.method) \(route) belongs to no API group", status: .internalServerError)
            }
            scope = listed
        } else {
            scope = nil
        }
        switch access.check(scope: scope, authorization: request.headers[.authorization], client: context.clientAddress) {
        case .success(let credential):
            var context = context
            context.credential = credential
            return try await next(request, context)
        case .failure(let refusal):
            var response = Response.v2Error(refusal.error.message, status: .init(code: refusal.error.httpStatus))
            if let challenge = refusal.challenge { response.headers[.wwwAuthenticate] = challenge }
            if let seconds = refusal.retryAfter { response.headers[.retryAfter] = String(seconds) }
            return response
        }
    }
}
