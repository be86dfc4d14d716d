import Metrics

/// Async jobs as metrics. Two views: what this replica does (claims, leases
/// it took over, jobs running and finished here) and what the store holds
/// across every replica (`ferry_jobs{state}` for queued and running jobs, the
/// webhook backlog), which each replica reports alike, so dashboards should
/// take one replica's value, not the sum.
public enum JobMetrics {
    public static let claimTimeLabel = "ferry_job_claim_duration_seconds"
    public static let queueWaitLabel = "ferry_job_queue_wait_seconds"

    /// Histogram buckets for the durations above.
    public static let durationBuckets: [String: [Duration]] = [
        claimTimeLabel: [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
        ],
        queueWaitLabel: [
            .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5),
            .seconds(10), .seconds(30), .seconds(60), .seconds(300), .seconds(900),
        ],
    ]

    static func recordClaim(duration: Duration, claimed: Int) {
        Metrics.Timer(label: claimTimeLabel).recordNanoseconds(Int64(duration / .nanoseconds(1)))
        if claimed > 0 { Counter(label: "ferry_job_claims_total").increment(by: claimed) }
    }

    static func recordStart(queuedFor wait: Duration) {
        Metrics.Timer(label: queueWaitLabel).recordNanoseconds(Int64(max(wait, .zero) / .nanoseconds(1)))
    }

    static func leaseExpired() { Counter(label: "ferry_job_lease_expiries_total").increment() }

    static func recordRunning(_ count: Int) { Gauge(label: "ferry_jobs_running_here").record(count) }

    static func recordDeliveries(_ count: Int) { Gauge(label: "ferry_job_webhooks_delivering_here").record(count) }

    static func recordFinish(_ status: Job.Status) {
        Counter(label: "ferry_jobs_finished_total", dimensions: [("state", status.rawValue)]).increment()
    }

    static func recordStore(_ statistics: JobStoreStatistics) {
        for status in [Job.Status.queued, .running] {
            Gauge(label: "ferry_jobs", dimensions: [("state", status.rawValue)]).record(statistics.jobs[status] ?? 0)
        }
        Gauge(label: "ferry_job_webhooks_pending").record(statistics.pendingWebhooks)
    }

    static func storeUnavailable() { Counter(label: "ferry_job_store_errors_total").increment() }
}
