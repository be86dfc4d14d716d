import FerryCore
import FerryPostgres
import Logging
import NIOCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Jobs in a PostgreSQL database that every replica of a deployment shares.
///
/// A replica claims queued jobs with `FOR UPDATE SKIP LOCKED` (two replicas
/// never claim one job) under a lease it renews while the job runs. A job
/// whose lease ran out (its replica died or lost the database) is claimed
/// again by another replica, and `attempts` counts every claim; the attempt
/// fences writes, so the replica that lost the job cannot finish it. A
/// webhook delivery is claimed the same way, by the replica that finished
/// the job. Other replicas hear of new and cancelled jobs at once through
/// LISTEN/NOTIFY; a poll every `pollInterval` covers a lost notification.
///
/// Times that decide between replicas (leases, due dates) are the
/// database's clock, never a replica's.
public final class PostgresJobStore: JobStore {
    public let client: PostgresClient
    public let replica: String
    public let leaseDuration: Duration?
    let lease: Duration
    let logger: Logger
    private let listener = Mutex<Task<Void, Never>?>(nil)
    static let channel = "ferry_jobs"

    public var location: String { client.configuration.displayURL }

    private init(client: PostgresClient, replica: String, lease: Duration, logger: Logger) {
        self.client = client
        self.replica = replica
        self.lease = lease
        self.leaseDuration = lease
        self.logger = logger
    }

    /// Connects (waiting up to `startTimeout` for a database that is still
    /// starting) and brings the schema up to date.
    public static func open(
        _ configuration: PostgresConfiguration, replica: String, lease: Duration = .seconds(30), connections: Int = 4,
        startTimeout: Duration = .seconds(30), logger: Logger
    ) async throws(FerryError) -> PostgresJobStore {
        let client = PostgresClient(configuration: configuration, maxConnections: connections, statementTimeout: .seconds(30), logger: logger)
        let deadline = ContinuousClock.now + startTimeout
        while true {
            do {
                let applied = try await migrate(client, logger: logger)
                if !applied.isEmpty {
                    logger.notice("job store schema migrated", metadata: ["store": "\(configuration.displayURL)", "versions": "\(applied)"])
                }
                return PostgresJobStore(client: client, replica: replica, lease: lease, logger: logger)
            } catch where error.isConnectionFailure && ContinuousClock.now < deadline {
                logger.warning("waiting for the job store", metadata: ["store": "\(configuration.displayURL)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            } catch {
                client.close()
                throw FerryError(.failedPrecondition, "cannot open the job store \(configuration.displayURL): \(error)")
            }
        }
    }

    // MARK: Writing

    public func insert(_ job: Job, request: Data, digest: String) async throws(FerryError) -> (job: Job, digest: String?)? {
        // One round trip stores the job and tells the other replicas.
        let inserted = try await query(
            """
            WITH inserted AS (
                INSERT INTO ferry_jobs (id, model, version, status, created, request, webhook, owner, idempotency_key, request_digest)
                VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING id)
            SELECT id, pg_notify('\(Self.channel)', 'queued') FROM inserted
            """,
            [
                .text(job.id), .text(job.model), .optional(job.version), .timestamp(job.created), .bytes(ByteBuffer(bytes: request)),
                .optional(job.webhook), .text(job.owner), .optional(job.idempotencyKey), .text(digest),
            ])
        guard inserted.rows.isEmpty, let key = job.idempotencyKey else { return nil }
        guard
            let row = try await query(
                "SELECT \(Self.summaryColumns), request_digest FROM ferry_jobs WHERE owner = $1 AND idempotency_key = $2", [.text(job.owner), .text(key)]
            ).rows.first
        else { throw FerryError(.unavailable, "the job with Idempotency-Key '\(key)' was deleted while this one was stored; send it again") }
        return (try Self.job(row), row.string("request_digest"))
    }

    /// Jobs whose lease expired come first (they waited longest). Each kind is
    /// read through its partial index in order, so a claim costs the same
    /// with a day of finished jobs or a long queue in the table.
    public func claimQueued(limit: Int, excluding excluded: Set<String>, now: Date) async throws(FerryError) -> [Job] {
        guard limit > 0 else { return [] }
        let start = ContinuousClock.now
        let rows = try await query(
            """
            WITH expired AS (
                SELECT id FROM ferry_jobs WHERE status = 'running' AND lease_until < clock_timestamp() AND id <> ALL($1)
                ORDER BY lease_until LIMIT $2 FOR UPDATE SKIP LOCKED),
            queued AS (
                SELECT id FROM ferry_jobs
                WHERE status = 'queued' AND (not_before IS NULL OR not_before <= clock_timestamp()) AND id <> ALL($1)
                ORDER BY created LIMIT $2 FOR UPDATE SKIP LOCKED),
            due AS (SELECT id, true AS expired FROM expired UNION ALL SELECT id, false FROM queued LIMIT $2)
            UPDATE ferry_jobs j SET status = 'running', started = clock_timestamp(), attempts = j.attempts + 1, not_before = NULL,
                runner = $3, lease_until = clock_timestamp() + make_interval(secs => $4)
            FROM due WHERE j.id = due.id
            RETURNING \(Self.summaryColumns(prefix: "j.")), due.expired
            """,
            [.textArray(Array(excluded)), .int(limit), .text(replica), .double(lease.seconds)])
        JobMetrics.recordClaim(duration: ContinuousClock.now - start, claimed: rows.rows.count)
        var jobs: [Job] = []
        for row in rows.rows {
            let job = try Self.job(row)
            if row.bool("expired") == true {
                JobMetrics.leaseExpired()
                logger.warning(
                    "job taken over after its lease expired", metadata: ["job": "\(job.id)", "attempt": "\(job.attempts)"])
            }
            jobs.append(job)
        }
        return jobs
    }

    public func finish(
        _ id: String, attempt: Int?, status: Job.Status, response: Data?, error: FerryError?, now: Date
    ) async throws(FerryError) -> Job? {
        // A finished job's webhook is claimed by the replica that finished it, in the same statement.
        // `runner` stays: which replica ran a job is worth knowing afterwards.
        let fence = attempt == nil ? "status IN ('queued', 'running')" : "status = 'running' AND attempts = $8"
        var parameters: [PostgresValue] = [
            .text(id), .text(status.rawValue), response.map { .bytes(ByteBuffer(bytes: $0)) } ?? .null,
            .optional(error?.code.rawValue), .optional(error?.message), .text(replica), .double(lease.seconds),
        ]
        if let attempt { parameters.append(.int(attempt)) }
        let rows = try await query(
            """
            UPDATE ferry_jobs SET status = $2, finished = clock_timestamp(), response = $3, error_code = $4, error_message = $5,
                lease_until = NULL,
                webhook_status = CASE WHEN webhook IS NULL THEN NULL ELSE 'pending' END,
                webhook_runner = CASE WHEN webhook IS NULL THEN NULL ELSE $6 END,
                webhook_lease_until = CASE WHEN webhook IS NULL THEN NULL ELSE clock_timestamp() + make_interval(secs => $7) END
            WHERE id = $1 AND \(fence)
            RETURNING \(Self.summaryColumns)
            """, parameters)
        guard let row = rows.rows.first else { return nil }
        if attempt == nil && status == .cancelled {
            // The replica running it, if another, stops its inference.
            _ = try await query("SELECT pg_notify('\(Self.channel)', $1)", [.text("cancelled:\(id)")])
        }
        return try Self.job(row)
    }

    public func requeue(_ id: String, attempt: Int, notBefore: Date?, reason: FerryError?) async throws(FerryError) {
        _ = try await query(
            """
            UPDATE ferry_jobs SET status = 'queued', not_before = $3, error_code = $4, error_message = $5, runner = NULL, lease_until = NULL
            WHERE id = $1 AND status = 'running' AND attempts = $2
            """,
            [.text(id), .int(attempt), .optional(notBefore), .optional(reason?.code.rawValue), .optional(reason?.message)])
        if notBefore == nil { _ = try await query("SELECT pg_notify('\(Self.channel)', 'queued')") }
    }

    /// The jobs and webhooks a replica of this name held when it stopped
    /// (a restarted container keeps its pod's name) go back to the queue at
    /// once; other replicas' wait for their leases to expire. Replica names
    /// must therefore be unique among live replicas.
    public func recoverInterrupted() async throws(FerryError) -> [String] {
        _ = try await query(
            "UPDATE ferry_jobs SET webhook_lease_until = NULL WHERE webhook_runner = $1 AND webhook_status = 'pending'", [.text(replica)])
        let rows = try await query(
            "UPDATE ferry_jobs SET status = 'queued', lease_until = NULL WHERE runner = $1 AND status = 'running' RETURNING id", [.text(replica)])
        return rows.rows.compactMap { $0.string("id") }
    }

    public func renewLeases(jobs: [String], deliveries: [String]) async throws(FerryError) -> Set<String> {
        if !deliveries.isEmpty {
            _ = try await query(
                """
                UPDATE ferry_jobs SET webhook_lease_until = clock_timestamp() + make_interval(secs => $3)
                WHERE id = ANY($1) AND webhook_runner = $2 AND webhook_status = 'pending'
                """, [.textArray(deliveries), .text(replica), .double(lease.seconds)])
        }
        guard !jobs.isEmpty else { return [] }
        let held = try await query(
            """
            UPDATE ferry_jobs SET lease_until = clock_timestamp() + make_interval(secs => $3)
            WHERE id = ANY($1) AND runner = $2 AND status = 'running' RETURNING id
            """, [.textArray(jobs), .text(replica), .double(lease.seconds)])
        return Set(jobs).subtracting(held.rows.compactMap { $0.string("id") })
    }

    public func claimWebhooks(excluding excluded: Set<String>) async throws(FerryError) -> [Job] {
        let rows = try await query(
            """
            WITH due AS (
                SELECT id FROM ferry_jobs
                WHERE webhook_status = 'pending' AND (webhook_lease_until IS NULL OR webhook_lease_until < clock_timestamp())
                    AND id <> ALL($1)
                ORDER BY finished LIMIT 64 FOR UPDATE SKIP LOCKED)
            UPDATE ferry_jobs j SET webhook_runner = $2, webhook_lease_until = clock_timestamp() + make_interval(secs => $3)
            FROM due WHERE j.id = due.id
            RETURNING \(Self.summaryColumns(prefix: "j."))
            """, [.textArray(Array(excluded)), .text(replica), .double(lease.seconds)])
        return try rows.rows.map(Self.job)
    }

    public func recordWebhook(_ id: String, status: Job.WebhookStatus, attempts: Int, error: String?) async throws(FerryError) {
        let keepsLease = status == .pending
        _ = try await query(
            """
            UPDATE ferry_jobs SET webhook_status = $2, webhook_attempts = $3, webhook_error = $4,
                webhook_runner = CASE WHEN $5 THEN webhook_runner ELSE NULL END,
                webhook_lease_until = CASE WHEN $5 THEN webhook_lease_until ELSE NULL END
            WHERE id = $1
            """, [.text(id), .text(status.rawValue), .int(attempts), .optional(error), .bool(keepsLease)])
    }

    public func purge(finishedBefore cutoff: Date) async throws(FerryError) -> Int {
        try await query(
            "DELETE FROM ferry_jobs WHERE finished IS NOT NULL AND finished < $1 AND status IN ('succeeded', 'failed', 'cancelled')",
            [.timestamp(cutoff)]
        ).affectedRows
    }

    // MARK: Reading

    public func job(_ id: String) async throws(FerryError) -> Job? {
        try await query("SELECT \(Self.summaryColumns) FROM ferry_jobs WHERE id = $1", [.text(id)]).rows.first.map(Self.job)
    }

    public func list(model: String?, status: Job.Status?, owner: String?, limit: Int) async throws(FerryError) -> [Job] {
        var conditions: [String] = []
        var parameters: [PostgresValue] = []
        for (column, value) in [("owner", owner), ("model", model), ("status", status?.rawValue)] {
            guard let value else { continue }
            parameters.append(.text(value))
            conditions.append("\(column) = $\(parameters.count)")
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        parameters.append(.int(limit))
        return try await query(
            "SELECT \(Self.summaryColumns) FROM ferry_jobs \(filter) ORDER BY created DESC, id LIMIT $\(parameters.count)", parameters
        ).rows.map(Self.job)
    }

    public func request(_ id: String) async throws(FerryError) -> Data {
        guard let body = try await query("SELECT request FROM ferry_jobs WHERE id = $1", [.text(id)]).rows.first?.bytes("request") else {
            throw FerryError(.notFound, "no job '\(id)'")
        }
        return Data(body.readableBytesView)
    }

    public func response(_ id: String) async throws(FerryError) -> Data? {
        try await query("SELECT response FROM ferry_jobs WHERE id = $1", [.text(id)]).rows.first?.bytes("response").map {
            Data($0.readableBytesView)
        }
    }

    public func nextDueDate() async throws(FerryError) -> Date? {
        let row = try await query(
            """
            SELECT LEAST(
                (SELECT MIN(not_before) FROM ferry_jobs WHERE status = 'queued'),
                (SELECT MIN(lease_until) FROM ferry_jobs WHERE status = 'running')) AS due
            """
        ).rows.first
        return row?.date("due")
    }

    public func statistics() async throws(FerryError) -> JobStoreStatistics {
        var statistics = JobStoreStatistics()
        // Only the states the partial indexes cover: finished jobs are many, and counted by each replica as they finish.
        for row in try await query("SELECT status, COUNT(*) AS count FROM ferry_jobs WHERE status IN ('queued', 'running') GROUP BY status").rows {
            guard let status = row.string("status").flatMap(Job.Status.init(rawValue:)) else { continue }
            statistics.jobs[status] = row.int("count") ?? 0
        }
        statistics.pendingWebhooks =
            try await query("SELECT COUNT(*) AS count FROM ferry_jobs WHERE webhook_status = 'pending'").rows.first?.int("count") ?? 0
        return statistics
    }

    // MARK: Notifications

    /// Keeps one session listening, reconnecting after the database comes back.
    public func listen(_ handler: @escaping @Sendable (JobStoreEvent) -> Void) async {
        let task = Task { [client, logger] in
            while !Task.isCancelled {
                do throws(PostgresError) {
                    let connection = try await PostgresConnection.connect(
                        client.configuration, listening: [Self.channel],
                        onNotification: { notification in
                            if notification.payload == "queued" {
                                handler(.queued)
                            } else if notification.payload.hasPrefix("cancelled:") {
                                handler(.cancelled(String(notification.payload.dropFirst("cancelled:".count))))
                            }
                        }, logger: logger)
                    // Jobs queued while no session listened are found now.
                    handler(.queued)
                    while connection.isOpen && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(500)) }
                    connection.close()
                } catch {
                    logger.debug("cannot listen for job events", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        listener.withLock { $0 = task }
    }

    public func close() async {
        listener.withLock { $0.take() }?.cancel()
        client.close()
    }

    // MARK: Rows and errors

    private func query(_ sql: String, _ parameters: [PostgresValue] = []) async throws(FerryError) -> PostgresRows {
        do {
            return try await client.query(sql, parameters)
        } catch {
            if error.isConnectionFailure {
                throw FerryError(.unavailable, "the job store \(client.configuration.displayURL) is unavailable: \(error)")
            }
            throw FerryError(.internal, "job store \(client.configuration.displayURL): \(error)")
        }
    }

    static func summaryColumns(prefix: String) -> String {
        [
            "id", "model", "version", "status", "created", "started", "finished", "not_before", "attempts", "error_code", "error_message",
            "webhook", "webhook_status", "webhook_attempts", "webhook_error", "owner", "idempotency_key",
        ].map { "\(prefix)\($0)" }.joined(separator: ", ")
    }

    static let summaryColumns = summaryColumns(prefix: "")

    static func job(_ row: PostgresRow) throws(FerryError) -> Job {
        guard let id = row.string("id"), let model = row.string("model"),
            let status = row.string("status").flatMap(Job.Status.init(rawValue:)), let created = row.date("created")
        else { throw FerryError(.internal, "the job store holds a malformed row") }
        var job = Job(id: id, model: model, version: row.string("version"), created: created, webhook: row.string("webhook"))
        job.status = status
        job.started = row.date("started")
        job.finished = row.date("finished")
        job.notBefore = row.date("not_before")
        job.attempts = row.int("attempts") ?? 0
        if let code = row.string("error_code").flatMap(FerryError.Code.init(rawValue:)) {
            job.error = FerryError(code, row.string("error_message") ?? "")
        }
        job.webhookStatus = row.string("webhook_status").flatMap(Job.WebhookStatus.init(rawValue:))
        job.webhookAttempts = row.int("webhook_attempts") ?? 0
        job.webhookError = row.string("webhook_error")
        job.owner = row.string("owner") ?? ""
        job.idempotencyKey = row.string("idempotency_key")
        return job
    }
}
