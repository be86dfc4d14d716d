import FerryCore
import Foundation

/// Runs one model version's requests on threads it owns.
///
/// ONNX Runtime calls block for the length of the computation, so they never
/// run on Swift's cooperative pool or on NIO event loops: each model instance
/// is a thread that takes the next queued request when it is free.
///
/// `@unchecked Sendable`: every mutable property is read and written only
/// while holding `condition`'s lock.
final class ModelExecutor: @unchecked Sendable {
    struct Timing: Sendable {
        var queue: Duration
        var compute: Duration
    }

    private struct Job {
        let inputs: [Tensor]
        let outputs: [String]
        let enqueued: ContinuousClock.Instant
        let completion: @Sendable (Result<([Tensor], Timing), FerryError>?) -> Void
    }

    let name: String
    private let sessions: [any ModelSession]
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var queueHead = 0
    private var accepting = true
    private var busy = 0
    private var liveThreads = 0
    private var threads: [Thread] = []
    private var drainWaiters: [CheckedContinuation<Void, Never>] = []

    /// One thread per session; each session is one model instance.
    init(name: String, sessions: [any ModelSession]) {
        precondition(!sessions.isEmpty)
        self.name = name
        self.sessions = sessions
        for (index, session) in sessions.enumerated() {
            let thread = Thread { [self] in work(session) }
            thread.name = "ferry \(name) instance \(index)"
            threads.append(thread)
        }
        liveThreads = threads.count
        for thread in threads { thread.start() }
    }

    var instanceCount: Int { sessions.count }

    /// Queues a request and waits for its outputs; `nil` when this version
    /// has been retired (replaced or unloaded) and takes no new requests.
    func execute(_ inputs: [Tensor], outputs: [String]) async throws(FerryError) -> ([Tensor], Timing)? {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<([Tensor], Timing), FerryError>?, Never>) in
            let job = Job(inputs: inputs, outputs: outputs, enqueued: .now) { continuation.resume(returning: $0) }
            condition.lock()
            guard accepting else {
                condition.unlock()
                continuation.resume(returning: nil)
                return
            }
            queue.append(job)
            condition.signal()
            condition.unlock()
        }
        return try result?.get()
    }

    /// Requests queued or running.
    var pending: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count - queueHead + busy
    }

    /// Stops taking requests, lets every queued and running one finish, and
    /// ends the threads. Returns when all are done.
    func drain() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            stopAccepting(thenResume: continuation)
        }
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

    private func work(_ session: any ModelSession) {
        while true {
            condition.lock()
            while queueHead == queue.count && accepting { condition.wait() }
            if queueHead == queue.count {
                liveThreads -= 1
                let waiters = liveThreads == 0 ? drainWaiters : []
                if liveThreads == 0 { drainWaiters = [] }
                condition.unlock()
                for waiter in waiters { waiter.resume() }
                return
            }
            let job = queue[queueHead]
            queueHead += 1
            if queueHead > 64 && queueHead * 2 > queue.count {
                queue.removeFirst(queueHead)
                queueHead = 0
            }
            busy += 1
            condition.unlock()

            let started = ContinuousClock.now
            let result: Result<[Tensor], FerryError>
            do throws(FerryError) {
                result = .success(try session.run(job.inputs, outputs: job.outputs))
            } catch {
                result = .failure(error)
            }
            let timing = Timing(queue: started - job.enqueued, compute: .now - started)

            condition.lock()
            busy -= 1
            condition.unlock()
            job.completion(result.map { ($0, timing) })
        }
    }
}
