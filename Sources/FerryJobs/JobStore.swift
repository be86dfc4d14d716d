import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where async jobs are kept. `SQLiteJobStore` is one process's embedded
/// database; `PostgresJobStore` is shared by every replica of a deployment,
/// so any of them answers for any job and runs queued ones under a lease.
///
/// `attempt` fences the writes of a running job: a replica whose lease ran
/// out (and whose job another replica took over) can no longer finish or
/// requeue it.
public protocol JobStore: Sendable {
    /// The SQLite path or the PostgreSQL URL (without secrets), for logs.
    var location: String { get }
    /// How long a claimed job stays with its replica without a renewal; nil
    /// when one process owns the store and needs no lease.
    var leaseDuration: Duration? { get }

    /// Stores a new queued job. A job with an idempotency key its owner
    /// already used is not stored: the earlier job is returned with the
    /// digest of its request (nil: this one was stored).
    func insert(_ job: Job, request: Data, digest: String) async throws(FerryError) -> (job: Job, digest: String?)?
    /// Marks up to `limit` due jobs as running here (queued ones, and with
    /// leases, running ones whose lease expired), oldest first, and returns them.
    func claimQueued(limit: Int, excluding: Set<String>, now: Date) async throws(FerryError) -> [Job]
    /// Records how a job ended; `attempt` nil ends a queued or running one
    /// wherever it runs (a client's cancel). Returns nil if it had already ended or moved on.
    func finish(_ id: String, attempt: Int?, status: Job.Status, response: Data?, error: FerryError?, now: Date) async throws(FerryError) -> Job?
    /// Puts a running job back in the queue, not to start before `notBefore`.
    func requeue(_ id: String, attempt: Int, notBefore: Date?, reason: FerryError?) async throws(FerryError)
    /// At start: jobs this store knows were interrupted by the last stop are queued again.
    func recoverInterrupted() async throws(FerryError) -> [String]
    /// Extends the leases of jobs running and webhooks being delivered here;
    /// returns the jobs no longer held (cancelled, or taken over after an expired lease).
    func renewLeases(jobs: [String], deliveries: [String]) async throws(FerryError) -> Set<String>
    /// Finished jobs whose webhook is due for delivery by this replica.
    func claimWebhooks(excluding: Set<String>) async throws(FerryError) -> [Job]
    func recordWebhook(_ id: String, status: Job.WebhookStatus, attempts: Int, error: String?) async throws(FerryError)
    /// Deletes jobs that finished before `cutoff`; returns how many.
    func purge(finishedBefore cutoff: Date) async throws(FerryError) -> Int

    func job(_ id: String) async throws(FerryError) -> Job?
    /// Jobs newest first, optionally of one model, in one state, of one owner.
    func list(model: String?, status: Job.Status?, owner: String?, limit: Int) async throws(FerryError) -> [Job]
    func request(_ id: String) async throws(FerryError) -> Data
    /// The stored v2 response of a succeeded job.
    func response(_ id: String) async throws(FerryError) -> Data?
    /// When the earliest job that is not due yet becomes due.
    func nextDueDate() async throws(FerryError) -> Date?
    func statistics() async throws(FerryError) -> JobStoreStatistics

    /// Calls `handler` when another process queues or cancels a job, for as
    /// long as the store is open (a store only this process writes never calls it).
    func listen(_ handler: @escaping @Sendable (JobStoreEvent) -> Void) async
    func close() async
}

/// What another replica did that this one should act on at once rather than at its next poll.
public enum JobStoreEvent: Sendable, Equatable {
    case queued
    case cancelled(String)
}

/// The store's view across every replica: the jobs waiting or running (finished
/// ones are counted by the replicas that finish them) and the webhook backlog.
public struct JobStoreStatistics: Sendable, Equatable {
    public var jobs: [Job.Status: Int] = [:]
    public var pendingWebhooks = 0
    public init() {}
}
