import FerryCore
import FerryPostgres
import Logging

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How `ferry serve` runs async jobs.
public struct JobsConfiguration: Sendable {
    /// The SQLite database (request and response bodies over `inlineLimit`
    /// bytes go to files in `PATH.files`), or a `postgres://` URL of a store
    /// that several replicas share.
    public var storePath: String
    /// The PostgreSQL password (never part of the URL).
    public var storePassword: String?
    /// How long a replica holds a job of a shared store without renewing its
    /// claim: a replica that dies hands its jobs on after this long.
    public var lease: Duration
    /// Sessions each replica keeps with a shared store.
    public var storeConnections: Int
    /// This replica's name in a shared store (who runs what).
    public var replica: String
    public var inlineLimit: Int
    /// Finished jobs are deleted this long after they finish.
    public var timeToLive: Duration
    /// Jobs handed to the scheduler at once (more wait in the store as queued).
    public var concurrency: Int
    /// A job stopped this many times by restarts or a busy server fails.
    public var maxAttempts: Int
    /// Signs webhook deliveries (HMAC-SHA256) when set.
    public var webhookSecret: [UInt8]?
    /// Deliveries tried per finished job before giving up.
    public var webhookAttempts: Int
    /// The wait before the first retry; it doubles with each one, up to a minute.
    public var webhookBackoff: Duration
    public var webhookTimeout: Duration
    /// Webhooks to loopback, link-local and private addresses (refused by default).
    public var webhookAllowPrivate: Bool
    /// Webhooks over plain http (https only by default).
    public var webhookAllowHTTP: Bool

    public init(
        storePath: String = ".ferry/jobs.sqlite",
        storePassword: String? = nil,
        lease: Duration = .seconds(30),
        storeConnections: Int = 4,
        replica: String = "ferry",
        inlineLimit: Int = 64 << 10,
        timeToLive: Duration = .seconds(24 * 3600),
        concurrency: Int = 4,
        maxAttempts: Int = 5,
        webhookSecret: [UInt8]? = nil,
        webhookAttempts: Int = 8,
        webhookBackoff: Duration = .seconds(1),
        webhookTimeout: Duration = .seconds(10),
        webhookAllowPrivate: Bool = false,
        webhookAllowHTTP: Bool = false
    ) {
        self.storePath = storePath
        self.storePassword = storePassword
        self.lease = lease
        self.storeConnections = storeConnections
        self.replica = replica
        self.inlineLimit = inlineLimit
        self.timeToLive = timeToLive
        self.concurrency = concurrency
        self.maxAttempts = maxAttempts
        self.webhookSecret = webhookSecret
        self.webhookAttempts = webhookAttempts
        self.webhookBackoff = webhookBackoff
        self.webhookTimeout = webhookTimeout
        self.webhookAllowPrivate = webhookAllowPrivate
        self.webhookAllowHTTP = webhookAllowHTTP
    }

    /// Opens the store the configuration names: PostgreSQL for a `postgres://` URL, SQLite otherwise.
    public func openStore(logger: Logger) async throws(FerryError) -> any JobStore {
        guard PostgresConfiguration.isURL(storePath) else {
            return try await SQLiteJobStore.open(path: storePath, inlineLimit: inlineLimit, logger: logger)
        }
        var postgres: PostgresConfiguration
        do {
            postgres = try PostgresConfiguration(url: storePath)
        } catch {
            throw FerryError(.invalidArgument, "--job-store: \(error.message)")
        }
        postgres.password = storePassword
        postgres.applicationName = "ferry \(replica)"
        return try await PostgresJobStore.open(postgres, replica: replica, lease: lease, connections: storeConnections, logger: logger)
    }

    /// The wait before retry number `attempt` (1 for the first retry).
    static func backoff(_ base: Duration, attempt: Int) -> Duration {
        let factor = 1 << min(max(attempt - 1, 0), 16)
        return min(base * factor, .seconds(60))
    }
}
