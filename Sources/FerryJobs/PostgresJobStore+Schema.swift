import FerryCore
import FerryPostgres
import Logging

/// The store's schema as numbered migrations. A replica applies the ones
/// the database lacks inside one transaction that holds an advisory lock,
/// so replicas starting together wait for each other and each migration
/// runs once. A migration, once released, is never edited: changes are new
/// migrations appended here.
///
/// Bodies live in the job row as `bytea` with PostgreSQL's default storage:
/// TOAST moves large ones out of line (an update that leaves them alone does
/// not copy them) and compresses what compresses. `scripts/bench-job-bodies`
/// measured the alternatives: a separate table of bodies was as fast for
/// large bodies and 40% slower for small ones, large objects 15-40% slower
/// (and they outlive a crashed delete), and skipping compression
/// (`STORAGE EXTERNAL`) gained nothing on random tensors.
extension PostgresJobStore {
    static let migrations: [(version: Int, sql: String)] = [
        (
            1,
            """
            CREATE TABLE ferry_jobs (
                id text PRIMARY KEY,
                model text NOT NULL,
                version text,
                status text NOT NULL,
                created timestamptz NOT NULL,
                started timestamptz,
                finished timestamptz,
                not_before timestamptz,
                attempts integer NOT NULL DEFAULT 0,
                runner text,
                lease_until timestamptz,
                request bytea NOT NULL,
                response bytea,
                error_code text,
                error_message text,
                webhook text,
                webhook_status text,
                webhook_attempts integer NOT NULL DEFAULT 0,
                webhook_error text,
                webhook_runner text,
                webhook_lease_until timestamptz,
                owner text NOT NULL DEFAULT '',
                idempotency_key text,
                request_digest text
            );
            CREATE INDEX ferry_jobs_queue ON ferry_jobs (created) WHERE status = 'queued';
            CREATE INDEX ferry_jobs_leases ON ferry_jobs (lease_until) WHERE status = 'running';
            CREATE INDEX ferry_jobs_webhooks ON ferry_jobs (finished) WHERE webhook_status = 'pending';
            CREATE INDEX ferry_jobs_finished ON ferry_jobs (finished) WHERE finished IS NOT NULL;
            CREATE INDEX ferry_jobs_by_created ON ferry_jobs (created);
            CREATE INDEX ferry_jobs_by_model ON ferry_jobs (model, created);
            CREATE INDEX ferry_jobs_by_owner ON ferry_jobs (owner, created);
            CREATE UNIQUE INDEX ferry_jobs_idempotency ON ferry_jobs (owner, idempotency_key) WHERE idempotency_key IS NOT NULL;
            """
        )
    ]

    /// Any constant both sides agree on: the advisory lock that serializes migrations.
    static let migrationLock = 0x6665_7272_795f_6a62

    /// Applies the migrations the database lacks; returns the versions this call applied.
    static func migrate(_ client: PostgresClient, logger: Logger) async throws(PostgresError) -> [Int] {
        try await client.withConnection { connection throws(PostgresError) in
            try await connection.execute("BEGIN")
            try await connection.query("SELECT pg_advisory_xact_lock($1)", [.int(migrationLock)])
            try await connection.execute(
                "CREATE TABLE IF NOT EXISTS ferry_schema_migrations (version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())")
            let applied = Set(try await connection.query("SELECT version FROM ferry_schema_migrations").rows.compactMap { $0.int("version") })
            if let newest = applied.max(), newest > migrations.last?.version ?? 0 {
                try await connection.execute("ROLLBACK")
                throw PostgresError(
                    .configuration,
                    "the job store's schema is at version \(newest), newer than this Ferry knows (\(migrations.last?.version ?? 0)): upgrade Ferry")
            }
            var ran: [Int] = []
            for migration in migrations where !applied.contains(migration.version) {
                try await connection.execute(migration.sql)
                try await connection.query("INSERT INTO ferry_schema_migrations (version) VALUES ($1)", [.int(migration.version)])
                ran.append(migration.version)
            }
            try await connection.execute("COMMIT")
            return ran
        }
    }
}
