import ArgumentParser
import FerryJobs

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `ferry serve`'s options for async jobs (`Prefer: respond-async`) and their webhooks.
struct JobOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Where async jobs are kept: a SQLite file (large bodies go to PATH.files/), or postgres://USER@HOST:PORT/DB?sslmode=MODE, shared by every replica.",
            valueName: "path|url"))
    var jobStore = Environment.string("FERRY_JOB_STORE") ?? ".ferry/jobs.sqlite"

    @Option(
        help: ArgumentHelp(
            "File holding the PostgreSQL job store's password (or set FERRY_JOB_STORE_PASSWORD); never part of the URL.", valueName: "file"))
    var jobStorePasswordFile: String?

    @Option(help: ArgumentHelp("How long a replica holds a job of a shared store without renewing its claim; a replica that dies hands its jobs on after this long.", valueName: "duration"))
    var jobLease = Environment.string("FERRY_JOB_LEASE") ?? "30s"

    @Option(help: "Sessions each replica keeps with a PostgreSQL job store.")
    var jobStoreConnections = Environment.int("FERRY_JOB_STORE_CONNECTIONS") ?? 4

    @Option(help: ArgumentHelp("This replica's name in a shared job store (default: the host name and process id).", valueName: "name"))
    var replicaName: String?

    @Option(help: ArgumentHelp("How long finished jobs are kept (e.g. 90s, 30m, 24h, 7d).", valueName: "duration"))
    var jobTtl = Environment.string("FERRY_JOB_TTL") ?? "24h"

    @Option(help: "Jobs handed to the scheduler at once; more wait in the store.")
    var jobConcurrency = Environment.int("FERRY_JOB_CONCURRENCY") ?? 4

    @Option(help: "Request and response bodies larger than this many bytes are kept as files, not in the database.")
    var jobInlineLimit = Environment.int("FERRY_JOB_INLINE_LIMIT") ?? 64 << 10

    @Option(
        name: .customLong("webhook-secret"),
        help: ArgumentHelp("Signs webhook deliveries with HMAC-SHA256 (Ferry-Signature-256 header).", valueName: "secret"))
    var webhookSecretOption: String?

    var webhookSecret: String? { webhookSecretOption ?? Environment.string("FERRY_WEBHOOK_SECRET") }

    @Option(help: "Delivery attempts per webhook before it is given up.")
    var webhookAttempts = Environment.int("FERRY_WEBHOOK_ATTEMPTS") ?? 8

    @Option(help: ArgumentHelp("Wait before the first webhook retry; it doubles each time, up to 1m.", valueName: "duration"))
    var webhookBackoff = Environment.string("FERRY_WEBHOOK_BACKOFF") ?? "1s"

    @Flag(help: "Let webhooks go to loopback, link-local and private addresses (refused by default: they reach inside the server's network).")
    var webhookAllowPrivate = Environment.string("FERRY_WEBHOOK_ALLOW_PRIVATE") == "1"

    @Flag(help: "Let webhooks use plain http (https only by default).")
    var webhookAllowHttp = Environment.string("FERRY_WEBHOOK_ALLOW_HTTP") == "1"

    func validate() throws {
        guard jobConcurrency >= 1 else { throw ValidationError("--job-concurrency must be at least 1") }
        guard jobInlineLimit >= 0 else { throw ValidationError("--job-inline-limit must be 0 or more") }
        guard webhookAttempts >= 1 else { throw ValidationError("--webhook-attempts must be at least 1") }
        guard let ttl = Self.duration(jobTtl), ttl > .zero else {
            throw ValidationError("--job-ttl must be a duration such as 24h, not '\(jobTtl)'")
        }
        guard Self.duration(webhookBackoff) != nil else {
            throw ValidationError("--webhook-backoff must be a duration such as 1s or 250ms, not '\(webhookBackoff)'")
        }
        if let webhookSecret, webhookSecret.isEmpty { throw ValidationError("--webhook-secret must not be empty") }
        guard let lease = Self.duration(jobLease), lease >= .seconds(1) else {
            throw ValidationError("--job-lease must be a duration of at least 1s, such as 30s, not '\(jobLease)'")
        }
        guard jobStoreConnections >= 1 else { throw ValidationError("--job-store-connections must be at least 1") }
    }

    /// The password from its file (trailing newline dropped, as a mounted Secret has none but an echo does) or the environment.
    func storePassword() throws -> String? {
        guard let file = jobStorePasswordFile ?? Environment.string("FERRY_JOB_STORE_PASSWORD_FILE") else {
            return Environment.string("FERRY_JOB_STORE_PASSWORD")
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("--job-store-password-file: cannot read '\(file)'")
        }
        var password = String(decoding: data, as: UTF8.self)
        while password.hasSuffix("\n") || password.hasSuffix("\r") { password.removeLast() }
        return password
    }

    /// Pod names are host names in Kubernetes; the process id tells restarts apart.
    var replica: String {
        replicaName ?? Environment.string("FERRY_REPLICA_NAME") ?? "\(ProcessInfo.processInfo.hostName)/\(ProcessInfo.processInfo.processIdentifier)"
    }

    func configuration() throws -> JobsConfiguration {
        JobsConfiguration(
            storePath: jobStore,
            storePassword: try storePassword(),
            lease: Self.duration(jobLease) ?? .seconds(30),
            storeConnections: jobStoreConnections,
            replica: replica,
            inlineLimit: jobInlineLimit,
            timeToLive: Self.duration(jobTtl) ?? .seconds(24 * 3600),
            concurrency: jobConcurrency,
            webhookSecret: webhookSecret.map { Array($0.utf8) },
            webhookAttempts: webhookAttempts,
            webhookBackoff: Self.duration(webhookBackoff) ?? .seconds(1),
            webhookAllowPrivate: webhookAllowPrivate,
            webhookAllowHTTP: webhookAllowHttp
        )
    }

    /// `250ms`, `90s`, `30m`, `24h`, `7d`, or a plain number of seconds.
    static func duration(_ text: String) -> Duration? {
        let units: [(suffix: String, milliseconds: Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for unit in units where text.hasSuffix(unit.suffix) {
            guard let value = Double(text.dropLast(unit.suffix.count)), value >= 0, value.isFinite else { return nil }
            return .milliseconds(Int64(value * unit.milliseconds))
        }
        guard let seconds = Double(text), seconds >= 0, seconds.isFinite else { return nil }
        return .milliseconds(Int64(seconds * 1000))
    }
}
