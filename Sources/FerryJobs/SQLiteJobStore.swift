import FerryCore
import Logging
import NIOCore
import SQLiteNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Jobs in an embedded SQLite database, so a restart loses no accepted job.
/// Request and response bodies up to `inlineLimit` bytes live in the rows;
/// larger ones are files in a folder next to the database.
///
/// One process owns the file: a job is running only while this process runs
/// it, so it needs no lease, and a restart queues the interrupted ones again.
///
/// Every method is one SQL statement (or a read followed by conditional
/// updates), so the actor's reentrancy at `await` never splits a transaction.
public actor SQLiteJobStore: JobStore {
    public let path: String
    public let inlineLimit: Int
    let filesDirectory: URL
    private let connection: SQLiteConnection

    private init(path: String, inlineLimit: Int, filesDirectory: URL, connection: SQLiteConnection) {
        self.path = path
        self.inlineLimit = inlineLimit
        self.filesDirectory = filesDirectory
        self.connection = connection
    }

    /// Opens (creating if needed) the database at `path` and its files folder `PATH.files`.
    public static func open(path: String, inlineLimit: Int = 64 << 10, logger: Logger) async throws(FerryError) -> SQLiteJobStore {
        let url = URL(fileURLWithPath: path)
        let files = URL(fileURLWithPath: path + ".files")
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        } catch {
            throw FerryError(.failedPrecondition, "cannot create the job store at '\(path)': \(FerryError.describe(error))")
        }
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: .file(path: url.path), logger: logger)
        } catch {
            throw FerryError(.failedPrecondition, "cannot open the job store '\(path)': \(error)")
        }
        let store = SQLiteJobStore(path: url.path, inlineLimit: inlineLimit, filesDirectory: files, connection: connection)
        try await store.prepareSchema()
        return store
    }

    private func prepareSchema() async throws(FerryError) {
        // WAL with FULL sync: an accepted job survives the process being killed
        // and the machine losing power.
        try await execute("PRAGMA journal_mode = WAL")
        try await execute("PRAGMA synchronous = FULL")
        try await execute("PRAGMA busy_timeout = 5000")
        try await execute(
            """
            CREATE TABLE IF NOT EXISTS jobs (
                id TEXT PRIMARY KEY,
                model TEXT NOT NULL,
                version TEXT,
                status TEXT NOT NULL,
                created REAL NOT NULL,
                started REAL,
                finished REAL,
                not_before REAL,
                attempts INTEGER NOT NULL DEFAULT 0,
                request BLOB,
                response BLOB,
                response_in_file INTEGER NOT NULL DEFAULT 0,
                error_code TEXT,
                error_message TEXT,
                webhook TEXT,
                webhook_status TEXT,
                webhook_attempts INTEGER NOT NULL DEFAULT 0,
                webhook_error TEXT,
                owner TEXT NOT NULL DEFAULT '',
                idempotency_key TEXT,
                request_digest TEXT
            )
            """)
        // Stores made before jobs had owners gain the columns; their jobs belong to no one ("").
        let columns = Set(try await query("PRAGMA table_info(jobs)", []).compactMap { $0.column("name")?.string })
        for (column, definition) in [("owner", "TEXT NOT NULL DEFAULT ''"), ("idempotency_key", "TEXT"), ("request_digest", "TEXT")]
        where !columns.contains(column) {
            try await execute("ALTER TABLE jobs ADD COLUMN \(column) \(definition)")
        }
        try await execute("CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, created)")
        try await execute("CREATE INDEX IF NOT EXISTS jobs_by_model ON jobs (model, created)")
        try await execute("CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (owner, created)")
        try await execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS jobs_by_idempotency_key ON jobs (owner, idempotency_key) WHERE idempotency_key IS NOT NULL")
    }

    /// Closes the database, also when the caller is being cancelled (as at
    /// the end of a shutdown that ran out of time): sqlite-nio refuses work
    /// from a cancelled task, and an unclosed connection must not be left.
    public nonisolated var location: String { path }
    public nonisolated var leaseDuration: Duration? { nil }

    public func close() async {
        let connection = connection
        await Task { try? await connection.close() }.value
    }

    // MARK: Writing

    /// Stores a new queued job with its request body. A job with an
    /// idempotency key its owner already used is not stored: the earlier job
    /// is returned with the digest of its request (nil: this one was stored).
    public func insert(_ job: Job, request: Data, digest: String) async throws(FerryError) -> (job: Job, digest: String?)? {
        var inline: SQLiteData = .null
        if request.count > inlineLimit {
            try writeFile(request, to: requestFile(job.id))
        } else {
            inline = .blob(ByteBuffer(bytes: request))
        }
        // OR IGNORE: of two submissions racing with one key, the unique index keeps the first.
        try await execute(
            """
            INSERT OR IGNORE INTO jobs (id, model, version, status, created, request, webhook, owner, idempotency_key, request_digest)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(job.id), .text(job.model), job.version.map(SQLiteData.text) ?? .null, .text(job.status.rawValue),
                .float(job.created.timeIntervalSince1970), inline, job.webhook.map(SQLiteData.text) ?? .null, .text(job.owner),
                job.idempotencyKey.map(SQLiteData.text) ?? .null, .text(digest),
            ])
        guard let key = job.idempotencyKey,
            let row = try await query(
                "SELECT \(Self.summaryColumns), request_digest FROM jobs WHERE owner = ? AND idempotency_key = ?", [.text(job.owner), .text(key)]
            ).first
        else { return nil }
        let stored = try Self.job(row)
        guard stored.id != job.id else { return nil }
        removeFiles(of: job.id)
        return (stored, row.column("request_digest")?.string)
    }

    /// Marks up to `limit` queued jobs that are due as running, oldest first,
    /// skipping `excluded` ids, and returns them.
    public func claimQueued(limit: Int, excluding excluded: Set<String>, now: Date) async throws(FerryError) -> [Job] {
        guard limit > 0 else { return [] }
        let due = try await query(
            "SELECT id FROM jobs WHERE status = 'queued' AND (not_before IS NULL OR not_before <= ?) ORDER BY created LIMIT ?",
            [.float(now.timeIntervalSince1970), .integer(limit + excluded.count)])
        var claimed: [Job] = []
        for row in due {
            guard claimed.count < limit, let id = row.column("id")?.string, !excluded.contains(id) else { continue }
            let rows = try await query(
                """
                UPDATE jobs SET status = 'running', started = ?, attempts = attempts + 1, not_before = NULL
                WHERE id = ? AND status = 'queued' RETURNING *
                """,
                [.float(now.timeIntervalSince1970), .text(id)])
            claimed += try rows.map(Self.job)
        }
        return claimed
    }

    /// Records how a running job ended; its response body, if any, is kept.
    @discardableResult
    public func finish(
        _ id: String, attempt: Int?, status: Job.Status, response: Data?, error: FerryError?, now: Date
    ) async throws(FerryError) -> Job? {
        var inline: SQLiteData = .null
        var inFile = false
        if let response {
            if response.count > inlineLimit {
                try writeFile(response, to: responseFile(id))
                inFile = true
            } else {
                inline = .blob(ByteBuffer(bytes: response))
            }
        }
        let rows = try await query(
            """
            UPDATE jobs SET status = ?, finished = ?, response = ?, response_in_file = ?, error_code = ?, error_message = ?,
                webhook_status = CASE WHEN webhook IS NULL THEN NULL ELSE 'pending' END
            WHERE id = ? AND status IN ('queued', 'running') RETURNING *
            """,
            [
                .text(status.rawValue), .float(now.timeIntervalSince1970), inline, .integer(inFile ? 1 : 0),
                error.map { .text($0.code.rawValue) } ?? .null, error.map { .text($0.message) } ?? .null, .text(id),
            ])
        return try rows.first.map(Self.job)
    }

    /// Puts a running job back in the queue, not to start before `notBefore`.
    public func requeue(_ id: String, attempt: Int, notBefore: Date?, reason: FerryError?) async throws(FerryError) {
        try await execute(
            "UPDATE jobs SET status = 'queued', not_before = ?, error_code = ?, error_message = ? WHERE id = ? AND status = 'running'",
            [
                notBefore.map { .float($0.timeIntervalSince1970) } ?? .null, reason.map { .text($0.code.rawValue) } ?? .null,
                reason.map { .text($0.message) } ?? .null, .text(id),
            ])
    }

    /// After a restart: jobs that were running when the server stopped run again.
    public func recoverInterrupted() async throws(FerryError) -> [String] {
        try await query("UPDATE jobs SET status = 'queued' WHERE status = 'running' RETURNING id", []).compactMap {
            $0.column("id")?.string
        }
    }

    public func recordWebhook(_ id: String, status: Job.WebhookStatus, attempts: Int, error: String?) async throws(FerryError) {
        try await execute(
            "UPDATE jobs SET webhook_status = ?, webhook_attempts = ?, webhook_error = ? WHERE id = ?",
            [.text(status.rawValue), .integer(attempts), error.map(SQLiteData.text) ?? .null, .text(id)])
    }

    /// Deletes finished jobs (rows and files) that finished before `cutoff`.
    public func purge(finishedBefore cutoff: Date) async throws(FerryError) -> Int {
        let rows = try await query(
            "DELETE FROM jobs WHERE finished IS NOT NULL AND finished < ? AND status IN ('succeeded', 'failed', 'cancelled') RETURNING id",
            [.float(cutoff.timeIntervalSince1970)])
        for id in rows.compactMap({ $0.column("id")?.string }) { removeFiles(of: id) }
        return rows.count
    }

    // MARK: Reading

    public func job(_ id: String) async throws(FerryError) -> Job? {
        try await query("SELECT \(Self.summaryColumns) FROM jobs WHERE id = ?", [.text(id)]).first.map(Self.job)
    }

    /// Jobs newest first, optionally of one model, in one state, of one owner.
    public func list(model: String?, status: Job.Status?, owner: String? = nil, limit: Int) async throws(FerryError) -> [Job] {
        var conditions: [String] = []
        var binds: [SQLiteData] = []
        if let owner {
            conditions.append("owner = ?")
            binds.append(.text(owner))
        }
        if let model {
            conditions.append("model = ?")
            binds.append(.text(model))
        }
        if let status {
            conditions.append("status = ?")
            binds.append(.text(status.rawValue))
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        binds.append(.integer(limit))
        return try await query("SELECT \(Self.summaryColumns) FROM jobs \(filter) ORDER BY created DESC, id LIMIT ?", binds).map(Self.job)
    }

    public func request(_ id: String) async throws(FerryError) -> Data {
        guard let row = try await query("SELECT request FROM jobs WHERE id = ?", [.text(id)]).first else {
            throw FerryError(.notFound, "no job '\(id)'")
        }
        if let blob = row.column("request")?.blob { return Data(blob.readableBytesView) }
        return try readFile(requestFile(id))
    }

    /// The stored v2 response of a succeeded job.
    public func response(_ id: String) async throws(FerryError) -> Data? {
        guard let row = try await query("SELECT response, response_in_file FROM jobs WHERE id = ?", [.text(id)]).first else {
            return nil
        }
        if let blob = row.column("response")?.blob { return Data(blob.readableBytesView) }
        guard row.column("response_in_file")?.integer == 1 else { return nil }
        return try readFile(responseFile(id))
    }

    /// Finished jobs whose webhook is not delivered yet, but for `excluded` (being delivered).
    public func claimWebhooks(excluding excluded: Set<String>) async throws(FerryError) -> [Job] {
        try await query("SELECT \(Self.summaryColumns) FROM jobs WHERE webhook_status = 'pending' ORDER BY finished", []).map(Self.job)
            .filter { !excluded.contains($0.id) }
    }

    /// Nothing to renew: only this process runs the jobs.
    public func renewLeases(jobs: [String], deliveries: [String]) async throws(FerryError) -> Set<String> { [] }

    public func listen(_ handler: @escaping @Sendable (JobStoreEvent) -> Void) async {}

    public func statistics() async throws(FerryError) -> JobStoreStatistics {
        var statistics = JobStoreStatistics()
        for row in try await query("SELECT status, COUNT(*) AS count FROM jobs WHERE status IN ('queued', 'running') GROUP BY status", []) {
            guard let status = row.column("status")?.string.flatMap(Job.Status.init(rawValue:)) else { continue }
            statistics.jobs[status] = row.column("count")?.integer ?? 0
        }
        statistics.pendingWebhooks =
            try await query("SELECT COUNT(*) AS count FROM jobs WHERE webhook_status = 'pending'", []).first?.column("count")?.integer ?? 0
        return statistics
    }

    /// When the earliest waiting queued job becomes due.
    public func nextDueDate() async throws(FerryError) -> Date? {
        try await query("SELECT MIN(not_before) AS due FROM jobs WHERE status = 'queued'", []).first?.column("due")?.double
            .map(Date.init(timeIntervalSince1970:))
    }

    // MARK: Rows

    private static let summaryColumns = """
        id, model, version, status, created, started, finished, not_before, attempts, error_code, error_message, \
        webhook, webhook_status, webhook_attempts, webhook_error, owner, idempotency_key
        """

    private static func job(_ row: SQLiteRow) throws(FerryError) -> Job {
        guard let id = row.column("id")?.string, let model = row.column("model")?.string,
            let status = row.column("status")?.string.flatMap(Job.Status.init(rawValue:)),
            let created = row.column("created")?.double
        else { throw FerryError(.internal, "the job store holds a malformed row: \(row)") }
        func date(_ column: String) -> Date? { row.column(column)?.double.map(Date.init(timeIntervalSince1970:)) }
        func text(_ column: String) -> String? {
            guard let value = row.column(column), !value.isNull else { return nil }
            return value.string
        }
        var job = Job(
            id: id, model: model, version: text("version"), created: Date(timeIntervalSince1970: created), webhook: text("webhook"))
        job.status = status
        job.started = date("started")
        job.finished = date("finished")
        job.notBefore = date("not_before")
        job.attempts = row.column("attempts")?.integer ?? 0
        if let code = text("error_code").flatMap(FerryError.Code.init(rawValue:)) {
            job.error = FerryError(code, text("error_message") ?? "")
        }
        job.webhookStatus = text("webhook_status").flatMap(Job.WebhookStatus.init(rawValue:))
        job.webhookAttempts = row.column("webhook_attempts")?.integer ?? 0
        job.webhookError = text("webhook_error")
        job.owner = text("owner") ?? ""
        job.idempotencyKey = text("idempotency_key")
        return job
    }

    // MARK: SQL and files

    private func query(_ sql: String, _ binds: [SQLiteData]) async throws(FerryError) -> [SQLiteRow] {
        do {
            return try await connection.query(sql, binds)
        } catch {
            throw FerryError(.internal, "job store '\(path)': \(error)")
        }
    }

    private func execute(_ sql: String, _ binds: [SQLiteData] = []) async throws(FerryError) {
        _ = try await query(sql, binds)
    }

    func requestFile(_ id: String) -> URL { filesDirectory.appendingPathComponent("\(id).request") }
    func responseFile(_ id: String) -> URL { filesDirectory.appendingPathComponent("\(id).response") }

    private func writeFile(_ data: Data, to url: URL) throws(FerryError) {
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw FerryError(.internal, "cannot write '\(url.path)' in the job store: \(FerryError.describe(error))")
        }
    }

    private func readFile(_ url: URL) throws(FerryError) -> Data {
        do {
            return try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw FerryError(.internal, "cannot read '\(url.path)' from the job store: \(FerryError.describe(error))")
        }
    }

    private func removeFiles(of id: String) {
        try? FileManager.default.removeItem(at: requestFile(id))
        try? FileManager.default.removeItem(at: responseFile(id))
    }
}
