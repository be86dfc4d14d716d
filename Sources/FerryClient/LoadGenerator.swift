import FerryCore
import Histogram
import Synchronization

/// How `ferry bench` loads a server for one measurement.
public struct LoadPlan: Sendable, Hashable {
    public enum Mode: Sendable, Hashable {
        /// Closed loop: this many requests outstanding at all times.
        case concurrency(Int)
        /// Open loop: requests sent at this rate per second, whatever the answers take.
        case requestRate(Double)
    }

    public var mode: Mode
    public var duration: Duration
    /// Load before measuring, so connections and model instances are warm.
    public var warmup: Duration

    public init(mode: Mode, duration: Duration, warmup: Duration = .milliseconds(500)) {
        self.mode = mode
        self.duration = duration
        self.warmup = warmup
    }
}

/// What one measurement saw: client-side latencies and what the server
/// counted over the same window.
public struct LoadResult: Sendable {
    public var plan: LoadPlan
    public var requests: Int
    public var failures: Int
    public var firstFailure: String?
    public var elapsed: Duration
    /// Request latencies in microseconds.
    public var latencies: Histogram<UInt64>
    /// The server's counters over the measurement, when it has the statistics extension.
    public var server: RemoteModelStatistics?

    public var throughput: Double { Double(requests) / elapsed.seconds }

    public func latency(percentile: Double) -> UInt64 { latencies.valueAtPercentile(percentile) }

    /// Server-side average queue and compute time per request, in microseconds.
    public var serverQueueMicroseconds: Double? {
        server.flatMap { $0.successCount > 0 ? Double($0.queueNanoseconds) / Double($0.successCount) / 1000 : nil }
    }

    public var serverComputeMicroseconds: Double? {
        server.flatMap { $0.successCount > 0 ? Double($0.computeNanoseconds) / Double($0.successCount) / 1000 : nil }
    }
}

/// Sends one request over and over, as `perf_analyzer` does, and measures.
public enum LoadGenerator {
    public static func run(
        client: any InferenceClient,
        model: String,
        version: String?,
        request: InferenceRequest,
        plan: LoadPlan,
        progress: (@Sendable (_ requests: Int, _ elapsed: Duration) -> Void)? = nil
    ) async -> LoadResult {
        let call: @Sendable () async throws(FerryError) -> InferenceResponse
        do throws(FerryError) {
            call = try client.preparedInfer(request, model: model, version: version)
        } catch {
            let failure = error
            call = { () async throws(FerryError) -> InferenceResponse in throw failure }
        }
        let send: @Sendable () async throws(FerryError) -> Void = { _ = try await call() }
        if plan.warmup > .zero {
            _ = await measure(plan.mode, for: plan.warmup, send: send, progress: nil)
        }
        let before = try? await client.modelStatistics(model, version: version)
        var result = await measure(plan.mode, for: plan.duration, send: send, progress: progress)
        result.plan = plan
        if let before, let after = try? await client.modelStatistics(model, version: version) {
            result.server = after.since(before)
        }
        return result
    }

    private static func measure(
        _ mode: LoadPlan.Mode,
        for duration: Duration,
        send: @escaping @Sendable () async throws(FerryError) -> Void,
        progress: (@Sendable (Int, Duration) -> Void)?
    ) async -> LoadResult {
        let tally = Tally()
        let start = ContinuousClock.now
        let end = start + duration
        let reporter = Task {
            while !Task.isCancelled, ContinuousClock.now < end {
                try? await Task.sleep(for: .milliseconds(200))
                progress?(tally.requests, .now - start)
            }
        }
        await withTaskGroup(of: Void.self) { group in
            switch mode {
            case .concurrency(let count):
                for _ in 0..<max(1, count) {
                    group.addTask {
                        var histogram = Tally.histogram()
                        while ContinuousClock.now < end {
                            await timed(send, into: &histogram, tally: tally)
                        }
                        tally.merge(histogram)
                    }
                }
            case .requestRate(let rate):
                let interval = Duration.seconds(1 / max(rate, 0.001))
                var next = start
                while next < end {
                    try? await Task.sleep(until: next, clock: .continuous)
                    group.addTask {
                        var histogram = Tally.histogram()
                        await timed(send, into: &histogram, tally: tally)
                        tally.merge(histogram)
                    }
                    next += interval
                }
            }
        }
        reporter.cancel()
        let elapsed = ContinuousClock.now - start
        return tally.result(elapsed: elapsed, plan: LoadPlan(mode: mode, duration: duration))
    }

    private static func timed(
        _ send: @Sendable () async throws(FerryError) -> Void,
        into histogram: inout Histogram<UInt64>,
        tally: Tally
    ) async {
        let started = ContinuousClock.now
        do throws(FerryError) {
            try await send()
            _ = histogram.record(UInt64((ContinuousClock.now - started).microseconds))
            tally.succeeded()
        } catch {
            tally.failed(error.message)
        }
    }
}

/// Counts shared by the load tasks.
private final class Tally: Sendable {
    private struct State {
        var requests = 0
        var failures = 0
        var firstFailure: String?
        var latencies = Tally.histogram()
    }

    private let state = Mutex(State())

    /// Microseconds from 1 µs to 10 minutes at three significant digits.
    static func histogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    }

    var requests: Int { state.withLock { $0.requests } }

    func succeeded() { state.withLock { $0.requests += 1 } }

    func failed(_ message: String) {
        state.withLock { state in
            state.failures += 1
            if state.firstFailure == nil { state.firstFailure = message }
        }
    }

    func merge(_ histogram: Histogram<UInt64>) { state.withLock { $0.latencies.add(histogram) } }

    func result(elapsed: Duration, plan: LoadPlan) -> LoadResult {
        state.withLock { state in
            LoadResult(
                plan: plan,
                requests: state.requests,
                failures: state.failures,
                firstFailure: state.firstFailure,
                elapsed: elapsed,
                latencies: state.latencies,
                server: nil
            )
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var microseconds: Int64 { components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000 }
}
