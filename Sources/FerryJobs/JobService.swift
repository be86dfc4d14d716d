import AsyncHTTPClient
import Crypto
import FerryCore
import FerryProtocol
import FerryServing
import Logging
import ServiceLifecycle
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Async jobs: accepts requests to run later, runs them through the same
/// `InferenceServer` (so they are batched with everything else), keeps their
/// results for the time to live, and delivers webhooks.
///
/// As a service it recovers first — jobs that were running when the server
/// last stopped are queued again, undelivered webhooks resume — then hands
/// queued jobs to the scheduler, at most `concurrency` at a time. Place it
/// after `ModelService` in the `ServiceGroup` so it stops before models unload.
///
/// With a store shared by several replicas, it also renews the leases of the
/// jobs and deliveries it holds, stops a job that was cancelled through
/// another replica or taken over by one, and takes over the webhooks of
/// replicas that died.
public final class JobService: Service, Sendable {
    public let store: any JobStore
    let server: InferenceServer
    let configuration: JobsConfiguration
    let logger: Logger
    let webhooks: WebhookSender
    private let wake = WakeSignal()

    private struct State {
        var running: [String: Task<Void, Never>] = [:]
        /// The inference of each running job, cancelled on its own so the
        /// job's outcome can still be written to the store.
        var inferences: [String: Task<Result<InferenceResponse, FerryError>, Never>] = [:]
        /// Running jobs a client cancelled, as opposed to ones a shutdown interrupts.
        var cancelledByClient: Set<String> = []
        /// Running jobs this replica no longer holds (another took them over): nothing of them is written.
        var abandoned: Set<String> = []
        var deliveries: [String: Task<Void, Never>] = [:]
        var stopping = false
    }

    private let state = Mutex(State())

    public init(
        store: any JobStore, server: InferenceServer, configuration: JobsConfiguration, httpClient: HTTPClient = .shared, logger: Logger
    ) {
        self.store = store
        self.server = server
        self.configuration = configuration
        self.logger = logger
        self.webhooks = WebhookSender(
            client: httpClient, secret: configuration.webhookSecret, timeout: configuration.webhookTimeout,
            policy: WebhookTarget.Policy(allowPrivate: configuration.webhookAllowPrivate, allowHTTP: configuration.webhookAllowHTTP))
    }

    // MARK: The API the HTTP frontend calls

    /// Checks the request against the model now (bad input is answered at
    /// once, not as a failed job) and stores it as a queued job of `owner`.
    /// With an `idempotencyKey` the owner used before, nothing new is stored:
    /// the earlier job is returned (`replayed`), or a conflict when the key
    /// came with a different request.
    public func submit(
        _ request: InferenceRequest, model: String, version: String?, owner: String = "", idempotencyKey: String? = nil
    ) async throws(FerryError) -> (job: Job, replayed: Bool) {
        if let idempotencyKey {
            guard (1...255).contains(idempotencyKey.utf8.count), idempotencyKey.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
                throw FerryError(.invalidArgument, "the Idempotency-Key header must be 1 to 255 visible ASCII characters")
            }
        }
        var request = request
        var webhook: String?
        if let parameter = request.parameters.removeValue(forKey: "webhook") {
            guard let url = parameter.stringValue else {
                throw FerryError(.invalidArgument, "the 'webhook' parameter must be a string URL")
            }
            try WebhookTarget.validate(url, policy: webhooks.policy)
            webhook = url
        }
        guard !state.withLock({ $0.stopping }) else { throw FerryError(.unavailable, "the server is shutting down") }
        await server.loadOnDemand(model)
        _ = try server.prepare(request, model: model, version: version)
        let job = Job(
            id: RandomIdentifier.uuid(), model: model, version: version, created: Date(), webhook: webhook, owner: owner,
            idempotencyKey: idempotencyKey)
        let body = try StoredRequest.encode(request)
        // The model, version and webhook are part of what a key stands for.
        let digest = SHA256.hash(data: Array("\(model)\u{0}\(version ?? "")\u{0}\(webhook ?? "")\u{0}".utf8) + body).hexString
        if let (earlier, earlierDigest) = try await store.insert(job, request: body, digest: digest) {
            guard earlierDigest == digest else {
                throw FerryError(
                    .conflict, "the Idempotency-Key '\(idempotencyKey ?? "")' was used for a different request (job \(earlier.id))")
            }
            return (earlier, true)
        }
        logger.debug("job queued", metadata: ["job": "\(job.id)", "model": "\(model)"])
        wake.signal()
        return (job, false)
    }

    /// The job and, once it succeeded, its v2 response body. Another owner's
    /// job is answered as missing, so job ids reveal nothing to others.
    public func job(_ id: String, viewer: Job.Viewer = .everyone) async throws(FerryError) -> (job: Job, response: Data?) {
        guard let job = try await store.job(id), viewer.sees(job) else {
            throw FerryError(.notFound, "no job '\(id)' (finished jobs are kept for the job TTL)")
        }
        return (job, job.status == .succeeded ? try await store.response(id) : nil)
    }

    public func list(model: String?, status: Job.Status?, limit: Int, viewer: Job.Viewer = .everyone) async throws(FerryError) -> [Job] {
        let owner: String? =
            switch viewer {
            case .everyone: nil
            case .owner(let owner): owner
            }
        return try await store.list(model: model, status: status, owner: owner, limit: limit)
    }

    /// Cancels a queued or running job; a finished one is a conflict.
    public func cancel(_ id: String, viewer: Job.Viewer = .everyone) async throws(FerryError) -> Job {
        guard let job = try await store.job(id), viewer.sees(job) else { throw FerryError(.notFound, "no job '\(id)'") }
        guard !job.status.isFinished else { throw FerryError(.conflict, "job '\(id)' has already \(job.status.rawValue)") }
        let running = state.withLock { state -> (Task<Void, Never>, Task<Result<InferenceResponse, FerryError>, Never>?)? in
            guard let task = state.running[id] else { return nil }
            state.cancelledByClient.insert(id)
            return (task, state.inferences[id])
        }
        if let (job, inference) = running {
            inference?.cancel()
            await job.value
        } else if let cancelled = try await store.finish(
            id, attempt: nil, status: .cancelled, response: nil, error: Self.cancelledByClient, now: Date())
        {
            // Queued, or running on another replica, which hears of it and stops.
            JobMetrics.recordFinish(.cancelled)
            startDelivery(cancelled)
        }
        guard let current = try await store.job(id) else { throw FerryError(.notFound, "no job '\(id)'") }
        return current
    }

    static let cancelledByClient = FerryError(.cancelled, "the job was cancelled by the client")

    // MARK: Running

    public func run() async throws {
        await server.manager.waitForInitialLoad()
        let interrupted = try await store.recoverInterrupted()
        if !interrupted.isEmpty {
            logger.notice("jobs interrupted by the last stop run again", metadata: ["jobs": "\(interrupted.count)"])
        }
        await store.listen { [weak self] event in self?.handle(event) }
        var metadata: Logger.Metadata = ["store": "\(store.location)", "ttl_seconds": "\(configuration.timeToLive.components.seconds)"]
        if let lease = store.leaseDuration { metadata["lease_seconds"] = "\(lease.components.seconds)" }
        logger.info("job store open", metadata: metadata)

        var lastPurge = ContinuousClock.now - .seconds(3600)
        var lastSurvey = ContinuousClock.now - .seconds(3600)
        let purgeInterval = min(configuration.timeToLive / 2, .seconds(60))
        // A shared store is also polled: a replica that died leaves no notification behind.
        let pollInterval = store.leaseDuration.map { min($0 / 3, .seconds(2)) } ?? purgeInterval
        let leases = store.leaseDuration.map { lease in Task { await self.renewLeases(every: lease / 3) } }
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                if ContinuousClock.now - lastPurge >= purgeInterval {
                    await purgeExpired()
                    lastPurge = .now
                }
                if ContinuousClock.now - lastSurvey >= pollInterval {
                    await survey()
                    lastSurvey = .now
                }
                let wait = await startDueJobs()
                await wake.wait(upTo: min(wait, pollInterval))
            }
        } onGracefulShutdown: {
            self.wake.signal()
        }
        leases?.cancel()
        // Running jobs finish (the scheduler drains them); undelivered
        // webhooks stay pending in the store and resume after a restart.
        let (running, deliveries) = state.withLock { state in
            state.stopping = true
            return (Array(state.running.values), Array(state.deliveries.values))
        }
        for delivery in deliveries { delivery.cancel() }
        await withTaskCancellationHandler {
            for task in running { await task.value }
        } onCancel: {
            for inference in state.withLock({ Array($0.inferences.values) }) { inference.cancel() }
        }
        for delivery in deliveries { await delivery.value }
        await store.close()
    }

    /// Hands due queued jobs to the scheduler; returns how long until the next one is due.
    /// With every slot taken, nothing is asked of the store: a job that ends wakes the loop.
    private func startDueJobs() async -> Duration {
        let (free, excluded) = state.withLock { ($0.stopping ? 0 : configuration.concurrency - $0.running.count, Set($0.running.keys)) }
        guard free > 0 else { return .seconds(3600) }
        do {
            let claimed = try await store.claimQueued(limit: free, excluding: excluded, now: Date())
            for job in claimed {
                JobMetrics.recordStart(queuedFor: .milliseconds(Int64((job.started ?? Date()).timeIntervalSince(job.created) * 1000)))
                state.withLock { state in
                    state.running[job.id] = Task { await self.execute(job) }
                }
            }
            if claimed.count == free { return .seconds(3600) }
            guard let due = try await store.nextDueDate() else { return .seconds(3600) }
            return .milliseconds(max(Int64(due.timeIntervalSinceNow * 1000), 1))
        } catch {
            JobMetrics.storeUnavailable()
            logger.error("cannot read queued jobs", metadata: ["error": "\(error)"])
            return .seconds(1)
        }
    }

    /// Takes up webhooks nobody delivers (after a restart, or a replica's
    /// death) and reports the store's counts.
    private func survey() async {
        let delivering = state.withLock { Set($0.deliveries.keys) }
        do {
            for job in try await store.claimWebhooks(excluding: delivering) { startDelivery(job) }
            JobMetrics.recordStore(try await store.statistics())
        } catch {
            JobMetrics.storeUnavailable()
            logger.warning("cannot survey the job store", metadata: ["error": "\(error)"])
        }
        let (running, deliveries) = state.withLock { ($0.running.count, $0.deliveries.count) }
        JobMetrics.recordRunning(running)
        JobMetrics.recordDeliveries(deliveries)
    }

    /// Keeps this replica's claims alive; a job it no longer holds stops here.
    private func renewLeases(every interval: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let (jobs, deliveries) = state.withLock { (Array($0.running.keys), Array($0.deliveries.keys)) }
            guard !jobs.isEmpty || !deliveries.isEmpty else { continue }
            do {
                for id in try await store.renewLeases(jobs: jobs, deliveries: deliveries) {
                    logger.warning("job no longer held here (cancelled or taken over): stopping it", metadata: ["job": "\(id)"])
                    stopLocally(id, abandon: true)
                }
            } catch {
                JobMetrics.storeUnavailable()
                logger.warning("cannot renew job leases", metadata: ["error": "\(error)"])
            }
        }
    }

    private func handle(_ event: JobStoreEvent) {
        switch event {
        case .queued: wake.signal()
        case .cancelled(let id):
            if stopLocally(id, abandon: false) { logger.info("job cancelled through another replica: stopping it", metadata: ["job": "\(id)"]) }
        }
    }

    /// Cancels a job's inference if it runs here. `abandon`: another replica
    /// holds it now, so its outcome is not written.
    @discardableResult
    private func stopLocally(_ id: String, abandon: Bool) -> Bool {
        let (runs, inference) = state.withLock { state -> (Bool, Task<Result<InferenceResponse, FerryError>, Never>?) in
            guard state.running[id] != nil else { return (false, nil) }
            if abandon { state.abandoned.insert(id) } else { state.cancelledByClient.insert(id) }
            return (true, state.inferences[id])
        }
        inference?.cancel()
        return runs
    }

    private func execute(_ job: Job) async {
        defer {
            state.withLock { state in
                state.running[job.id] = nil
                state.inferences[job.id] = nil
                state.cancelledByClient.remove(job.id)
                state.abandoned.remove(job.id)
            }
            wake.signal()
        }
        do throws(FerryError) {
            if job.attempts > configuration.maxAttempts {
                let last = job.error.map { " (last: \($0.message))" } ?? ""
                try await finish(
                    job, .failed, error: FerryError(.unavailable, "the job was started \(job.attempts - 1) times without finishing\(last)"))
                return
            }
            let request = try StoredRequest.decode(try await store.request(job.id))
            let inference = state.withLock { state in
                let task = Task { [server] () -> Result<InferenceResponse, FerryError> in
                    do throws(FerryError) {
                        return .success(try await server.infer(request, model: job.model, version: job.version))
                    } catch {
                        return .failure(error)
                    }
                }
                state.inferences[job.id] = task
                // A cancel that came between claiming the job and here still counts.
                if state.cancelledByClient.contains(job.id) || state.abandoned.contains(job.id) { task.cancel() }
                return task
            }
            switch await inference.value {
            case .success(let response): try await finish(job, .succeeded, response: try response.v2JSON())
            case .failure(let error): try await settleFailure(of: job, error, interrupted: inference.isCancelled)
            }
        } catch {
            logger.error("job store failed while running a job", metadata: ["job": "\(job.id)", "error": "\(error)"])
        }
    }

    /// A client's cancel ends the job; a shutdown or a busy model puts it back.
    private func settleFailure(of job: Job, _ error: FerryError, interrupted: Bool) async throws(FerryError) {
        if state.withLock({ $0.abandoned.contains(job.id) }) {
            return
        } else if state.withLock({ $0.cancelledByClient.contains(job.id) }) {
            try await finish(job, .cancelled, error: Self.cancelledByClient)
        } else if interrupted {
            try await store.requeue(job.id, attempt: job.attempts, notBefore: nil, reason: nil)
        } else if error.code == .unavailable && job.attempts < configuration.maxAttempts {
            let delay = JobsConfiguration.backoff(.milliseconds(200), attempt: job.attempts)
            try await store.requeue(job.id, attempt: job.attempts, notBefore: Date().addingTimeInterval(delay.seconds), reason: error)
            logger.info(
                "job waits to retry", metadata: ["job": "\(job.id)", "error": "\(error)", "retry_in_ms": "\(delay / .milliseconds(1))"])
        } else {
            try await finish(job, .failed, error: error)
        }
    }

    /// Records the outcome; while the store is unreachable it keeps trying for
    /// as long as the job's lease would last, so a result is not lost to a
    /// database restart.
    private func finish(_ job: Job, _ status: Job.Status, response: Data? = nil, error: FerryError? = nil) async throws(FerryError) {
        let deadline = ContinuousClock.now + (store.leaseDuration ?? .zero)
        var stored: Job?
        while true {
            do {
                stored = try await store.finish(job.id, attempt: job.attempts, status: status, response: response, error: error, now: Date())
                break
            } catch where error.code == .unavailable && ContinuousClock.now < deadline {
                logger.warning("job store unavailable; the job's outcome waits", metadata: ["job": "\(job.id)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
        guard let finished = stored else { return }
        JobMetrics.recordFinish(status)
        var metadata: Logger.Metadata = ["job": "\(job.id)", "model": "\(job.model)"]
        if let error { metadata["error"] = "\(error.message)" }
        logger.info("job \(status.rawValue)", metadata: metadata)
        startDelivery(finished)
    }

    private func purgeExpired() async {
        do {
            let removed = try await store.purge(finishedBefore: Date().addingTimeInterval(-configuration.timeToLive.seconds))
            if removed > 0 { logger.info("expired jobs deleted", metadata: ["jobs": "\(removed)"]) }
        } catch {
            logger.error("cannot delete expired jobs", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Webhooks

    private func startDelivery(_ job: Job) {
        guard job.webhook != nil, job.webhookStatus == .pending else { return }
        state.withLock { state in
            guard !state.stopping, state.deliveries[job.id] == nil else { return }
            state.deliveries[job.id] = Task { await self.deliver(job) }
        }
    }

    /// Tries until the receiver takes the delivery, refuses it, or the
    /// attempts run out, waiting longer before each retry.
    private func deliver(_ job: Job) async {
        defer { _ = state.withLock { $0.deliveries.removeValue(forKey: job.id) } }
        guard let url = job.webhook else { return }
        var attempts = job.webhookAttempts
        do throws(FerryError) {
            while !Task.isCancelled {
                let (current, response) = try await self.job(job.id)
                attempts += 1
                let outcome = await webhooks.deliver(current.document(response: response), jobID: job.id, attempt: attempts, to: url)
                switch outcome {
                case .delivered:
                    try await store.recordWebhook(job.id, status: .delivered, attempts: attempts, error: nil)
                    logger.info("webhook delivered", metadata: ["job": "\(job.id)", "attempts": "\(attempts)"])
                    return
                case .rejected(let reason):
                    try await store.recordWebhook(job.id, status: .failed, attempts: attempts, error: reason)
                    logger.warning("webhook refused", metadata: ["job": "\(job.id)", "error": "\(reason)"])
                    return
                case .retry(let reason):
                    let giveUp = attempts >= configuration.webhookAttempts
                    try await store.recordWebhook(job.id, status: giveUp ? .failed : .pending, attempts: attempts, error: reason)
                    logger.warning(
                        "webhook delivery failed", metadata: ["job": "\(job.id)", "attempt": "\(attempts)", "error": "\(reason)"])
                    if giveUp { return }
                    try? await Task.sleep(for: JobsConfiguration.backoff(configuration.webhookBackoff, attempt: attempts))
                }
            }
        } catch {
            logger.error("job store failed while delivering a webhook", metadata: ["job": "\(job.id)", "error": "\(error)"])
        }
    }
}

extension Duration {
    var seconds: TimeInterval { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
