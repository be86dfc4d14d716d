import CFerrySystem
import FerryCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Runs one model version's requests on threads it owns, batching them.
///
/// ONNX Runtime calls block for the length of the computation, so they never
/// run on Swift's cooperative pool or on NIO event loops: each model instance
/// is a thread. When an instance becomes free it takes a batch from what is
/// queued then — the oldest request of the highest priority and the requests
/// that can share its execution, up to `max_batch_size` rows. Requests that
/// arrive while every instance is busy wait and join the next batch.
///
/// `@unchecked Sendable`: every mutable property is read and written only
/// while holding `condition`'s lock (`nextID` is atomic).
final class ModelExecutor: @unchecked Sendable {
    struct Execution: Sendable {
        var outputs: [Tensor]
        var queue: Duration
        var compute: Duration
        /// Rows in the execution this request was part of.
        var batchRows: Int
    }

    fileprivate struct QueuedRequest: Queued {
        let id: UInt64
        let inputs: [Tensor]
        let outputs: [String]
        let batchKey: BatchAssembler.Key
        let rows: Int
        let priority: Int
        let enqueued: ContinuousClock.Instant
        let deadline: ContinuousClock.Instant?
        let completion: @Sendable (Result<Execution, FerryError>?) -> Void
    }

    let name: String
    let policy: SchedulingPolicy
    private let sessions: [any ModelSession]
    private let onExecution: @Sendable (_ rows: Int, _ compute: Duration) -> Void
    private let condition = ConditionLock()
    private var queue: RequestQueue<QueuedRequest>
    private let nextID = Atomic<UInt64>(0)
    private var accepting = true
    /// Requests in executions now running.
    private var runningCount = 0
    /// Runs of a single request, which its cancellation may stop (a batch of
    /// several runs on: the other requests still want their answers).
    private var stoppable: [UInt64: Cancellation] = [:]
    private var liveThreads = 0
    /// Written in `init` only.
    private var threads: [NativeThread.Joinable] = []
    private var drainWaiters: [CheckedContinuation<Void, Never>] = []

    /// One thread per session; each session is one model instance.
    init(
        name: String,
        sessions: [any ModelSession],
        policy: SchedulingPolicy,
        onExecution: @escaping @Sendable (_ rows: Int, _ compute: Duration) -> Void = { _, _ in }
    ) {
        precondition(!sessions.isEmpty)
        self.name = name
        self.sessions = sessions
        self.policy = policy
        self.onExecution = onExecution
        self.queue = RequestQueue(levels: policy.priorityLevels)
        liveThreads = sessions.count
        for (index, session) in sessions.enumerated() {
            threads.append(NativeThread.Joinable(name: "\(name) #\(index)") { [self] in work(session) })
        }
    }

    var instanceCount: Int { sessions.count }

    /// Queues a request; `completion` runs once, on an instance thread (or
    /// the caller's, when the request is refused at once), with the outputs,
    /// the failure, or `nil` when this version has been retired (replaced or
    /// unloaded) and takes no new requests. `cancellation` takes the request
    /// out of the queue, or stops its run.
    ///
    /// Frontends that live on NIO event loops call this directly: the answer
    /// goes from the instance thread to the connection's event loop, with no
    /// hop through Swift's concurrency pool on the way in or out.
    func submit(
        _ inputs: [Tensor],
        outputs: [String],
        rows: Int,
        priority: Int,
        timeout: Duration?,
        cancellation: Cancellation?,
        completion: @escaping @Sendable (Result<Execution, FerryError>?) -> Void
    ) {
        let id = nextID.add(1, ordering: .relaxed).newValue
        cancellation?.install { [self] in cancel(id) }
        let now = ContinuousClock.now
        let job = QueuedRequest(
            id: id,
            inputs: inputs,
            outputs: outputs,
            batchKey: BatchAssembler.Key(inputs: inputs, outputs: outputs),
            rows: rows,
            priority: priority,
            enqueued: now,
            deadline: timeout.map { now + $0 },
            completion: { result in
                cancellation?.remove()
                completion(result)
            }
        )
        enqueue(job, cancelled: cancellation?.isCancelled ?? false)
    }

    /// Requests queued or running.
    var pending: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count + runningCount
    }

    /// Requests in executions now running.
    var running: Int {
        condition.lock()
        defer { condition.unlock() }
        return runningCount
    }

    /// Stops taking requests, lets every queued and running one finish, and
    /// ends the threads. Returns when all are done.
    func drain() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            stopAccepting(thenResume: continuation)
        }
    }

    /// Blocks until the instance threads have ended entirely (after `drain`):
    /// until then they hold this executor, its sessions and their per-thread
    /// buffers.
    func joinThreads() {
        for thread in threads { thread.join() }
    }

    // MARK: Queue operations (each takes the lock)

    private func enqueue(_ job: QueuedRequest, cancelled: Bool) {
        condition.lock()
        guard accepting else {
            condition.unlock()
            job.completion(nil)
            return
        }
        if cancelled {
            condition.unlock()
            job.completion(.failure(FerryError(.cancelled, "the request to model '\(name)' was cancelled")))
            return
        }
        if policy.maxQueueSize > 0 && queue.count >= policy.maxQueueSize {
            condition.unlock()
            job.completion(
                .failure(
                    FerryError(.unavailable, "model '\(name)''s queue is full (\(policy.maxQueueSize) requests waiting, max_queue_size)"))
            )
            return
        }
        queue.append(job)
        condition.signal()
        condition.unlock()
    }

    private func cancel(_ id: UInt64) {
        condition.lock()
        let job = queue.remove(id: id)
        let run = stoppable[id]
        condition.unlock()
        job?.completion(.failure(FerryError(.cancelled, "the request to model '\(name)' was cancelled")))
        run?.cancel()
    }

    private func stopAccepting(thenResume continuation: CheckedContinuation<Void, Never>) {
        condition.lock()
        accepting = false
        condition.broadcast()
        if liveThreads == 0 {
            condition.unlock()
            continuation.resume()
            return
        }
        drainWaiters.append(continuation)
        condition.unlock()
    }

    // MARK: Instances

    /// Marks the calling (instance) thread CPU-bound for Linux's scheduler
    /// (SCHED_BATCH): when the model saturates every core, the threads that
    /// receive requests still get to run promptly, so requests reach the
    /// queue and join batches instead of waiting in socket buffers. Measured
    /// with a ResNet-50-shaped CNN at concurrency 32 on 2 cores: see README.
    private static func yieldToNetworkThreads() {
        _ = ferry_set_current_thread_batch_scheduling()
    }

    private func work(_ session: any ModelSession) {
        Self.yieldToNetworkThreads()
        condition.lock()
        while true {
            if queue.isEmpty {
                if !accepting {
                    liveThreads -= 1
                    let waiters = liveThreads == 0 ? drainWaiters : []
                    if liveThreads == 0 { drainWaiters = [] }
                    condition.unlock()
                    for waiter in waiters { waiter.resume() }
                    return
                }
                condition.wait()
                continue
            }
            let now = ContinuousClock.now
            let late = queue.expire(now: now, action: policy.timeoutAction)
            if !late.isEmpty {
                condition.unlock()
                for job in late {
                    job.completion(.failure(FerryError(.deadlineExceeded, "the request to model '\(name)' waited longer than its timeout")))
                }
                condition.lock()
                continue
            }
            let batch = queue.nextBatch(maxRows: policy.maxBatchSize, preferred: policy.preferredBatchSizes)
            guard let head = batch.first else { continue }
            // With max_queue_delay, a batch short of its target waits for more
            // requests until its oldest has waited that long.
            if policy.maxQueueDelay > .zero && accepting {
                let rows = batch.reduce(0) { $0 + $1.rows }
                let target = policy.preferredBatchSizes.last ?? policy.maxBatchSize
                let until = head.enqueued + policy.maxQueueDelay
                if rows < target && now < until {
                    condition.wait(timeout: until - now)
                    continue
                }
            }
            queue.remove(batch)
            runningCount += batch.count
            let cancellation = batch.count == 1 ? Cancellation() : nil
            if let cancellation { stoppable[head.id] = cancellation }
            condition.unlock()
            run(batch, on: session, cancellation: cancellation)
            condition.lock()
            if cancellation != nil { stoppable[head.id] = nil }
            runningCount -= batch.count
        }
    }

    private func run(_ batch: [QueuedRequest], on session: any ModelSession, cancellation: Cancellation?) {
        let started = ContinuousClock.now
        let sizes = batch.map { $0.rows }
        let rows = sizes.reduce(0, +)
        do throws(FerryError) {
            let inputs = BatchAssembler.merge(batch.map { $0.inputs })
            let outputs: [Tensor]
            if let cancellation {
                outputs = try session.run(inputs, outputs: batch[0].outputs, cancellation: cancellation)
            } else {
                outputs = try session.run(inputs, outputs: batch[0].outputs)
            }
            let compute = ContinuousClock.now - started
            let perRequest = try BatchAssembler.split(outputs, sizes: batch.count > 1 ? sizes : [rows])
            onExecution(rows, compute)
            for (job, outputs) in zip(batch, perRequest) {
                job.completion(.success(Execution(outputs: outputs, queue: started - job.enqueued, compute: compute, batchRows: rows)))
            }
        } catch {
            for job in batch { job.completion(.failure(error)) }
        }
    }
}
