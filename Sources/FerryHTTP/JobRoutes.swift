import FerryCore
import FerryJobs
import FerrySecurity
import HTTPTypes
import Hummingbird

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Async jobs: `GET /v2/jobs/{id}`, `DELETE /v2/jobs/{id}` (cancel) and
/// `GET /v2/jobs?model=…&status=…&limit=…`. Jobs are created by the
/// inference route when a request carries `Prefer: respond-async`.
struct JobRoutes {
    let jobs: JobService

    func register(on router: Router<FerryRequestContext>) {
        router.get("/v2/jobs") { request, context in
            let query = request.uri.queryParameters
            let status = try query.get("status").map { value throws(FerryError) -> Job.Status in
                guard let status = Job.Status(rawValue: String(value)) else {
                    let known = Job.Status.allCases.map(\.rawValue).joined(separator: ", ")
                    throw FerryError(.invalidArgument, "unknown job status '\(value)' (one of: \(known))")
                }
                return status
            }
            let limit = try Self.limit(query.get("limit").map { String($0) })
            let list = try await jobs.list(
                model: query.get("model").map { String($0) }, status: status, limit: limit, viewer: Self.viewer(context))
            return Response.json { writer in
                writer.object { object in
                    object.member("jobs") { writer in writer.list(list) { writer, job in job.write(to: &writer) } }
                }
            }
        }
        router.get("/v2/jobs/:id") { _, context in
            let (job, response) = try await jobs.job(try context.parameters.decoded("id"), viewer: Self.viewer(context))
            return Response.json(Array(job.document(response: response)))
        }
        router.delete("/v2/jobs/:id") { _, context in
            let job = try await jobs.cancel(try context.parameters.decoded("id"), viewer: Self.viewer(context))
            return Response.json(Array(job.document()))
        }
    }

    /// With authentication a credential sees its own jobs, unless it holds `jobs-admin`.
    static func viewer(_ context: FerryRequestContext) -> Job.Viewer {
        guard let credential = context.credential, !credential.scopes.contains(.jobsAdmin) else { return .everyone }
        return .owner(credential.owner)
    }

    static func limit(_ value: String?) throws(FerryError) -> Int {
        guard let value else { return 100 }
        guard let limit = Int(value), (1...1000).contains(limit) else {
            throw FerryError(.invalidArgument, "'limit' must be a number from 1 to 1000, not '\(value)'")
        }
        return limit
    }

    /// 202 Accepted for a request stored as a job: where to find it, and the
    /// job as it stands. A submission repeated with its `Idempotency-Key` gets
    /// the same answer about the same job, marked `Idempotent-Replayed`.
    static func accepted(_ job: Job, replayed: Bool = false) -> Response {
        let body = job.document()
        var headers: HTTPFields = [
            .contentType: "application/json", .contentLength: String(body.count), .location: "/v2/jobs/\(job.id)",
            preferenceApplied: "respond-async",
        ]
        if replayed { headers[idempotentReplayed] = "true" }
        return Response(status: .accepted, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!

    static let prefer = HTTPField.Name("Prefer")!
    static let preferenceApplied = HTTPField.Name("Preference-Applied")!

    /// Whether a `Prefer` header (RFC 7240) asks for `respond-async`.
    static func prefersAsync(_ headers: HTTPFields) -> Bool {
        headers[values: prefer].contains { value in
            value.split(separator: ",").contains { preference in
                preference.split(separator: ";").first?.trimmingWhitespace.lowercased() == "respond-async"
            }
        }
    }
}
