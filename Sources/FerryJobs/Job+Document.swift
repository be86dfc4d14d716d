import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension Job {
    /// The job as `GET /v2/jobs/{id}` shows it and webhooks deliver it; a
    /// succeeded job's v2 response is embedded as `response`.
    public func document(response: Data? = nil) -> Data {
        var writer = JSONWriter(reservingCapacity: 256 + (response?.count ?? 0))
        write(to: &writer, response: response)
        return writer.data
    }

    public func write(to writer: inout JSONWriter, response: Data? = nil) {
        writer.object { object in
            object.member("id") { $0.string(id) }
            object.member("model") { $0.string(model) }
            if let version { object.member("model_version") { $0.string(version) } }
            object.member("status") { $0.string(status.rawValue) }
            object.member("created") { $0.string(Self.timestamp(created)) }
            if let started { object.member("started") { $0.string(Self.timestamp(started)) } }
            if let finished { object.member("finished") { $0.string(Self.timestamp(finished)) } }
            object.member("attempts") { $0.integer(attempts) }
            if !owner.isEmpty { object.member("owner") { $0.string(owner) } }
            if let idempotencyKey { object.member("idempotency_key") { $0.string(idempotencyKey) } }
            // A queued job's error is why its last attempt was put back.
            if let error {
                object.member("error") { $0.string(error.message) }
                object.member("error_status") { $0.integer(error.httpStatus) }
            }
            if let webhook {
                object.member("webhook") { writer in
                    writer.object { hook in
                        hook.member("url") { $0.string(webhook) }
                        if let webhookStatus { hook.member("status") { $0.string(webhookStatus.rawValue) } }
                        hook.member("attempts") { $0.integer(webhookAttempts) }
                        if let webhookError { hook.member("error") { $0.string(webhookError) } }
                    }
                }
            }
            if let response { object.member("response") { $0.embed(response) } }
        }
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
