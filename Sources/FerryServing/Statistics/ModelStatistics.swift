import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Cumulative count and duration, as Triton's `StatisticDuration`.
public struct StatisticDuration: Sendable, Hashable {
    public var count: UInt64 = 0
    public var nanoseconds: UInt64 = 0

    public init(count: UInt64 = 0, nanoseconds: UInt64 = 0) {
        self.count = count
        self.nanoseconds = nanoseconds
    }

    mutating func add(_ duration: Duration) {
        count += 1
        nanoseconds += duration.nanoseconds
    }
}

/// Per-version inference statistics, in the shape of Triton's statistics extension.
public struct ModelStatistics: Sendable, Hashable {
    public struct BatchStatistics: Sendable, Hashable {
        public var batchSize: UInt64
        public var computeInput = StatisticDuration()
        public var computeInfer = StatisticDuration()
        public var computeOutput = StatisticDuration()
    }

    public var name: String
    public var version: String
    /// Milliseconds since the epoch of the last inference; 0 if none.
    public var lastInference: UInt64 = 0
    /// Requests (batch items) inferred.
    public var inferenceCount: UInt64 = 0
    /// Backend executions: fewer than `inferenceCount` when requests are batched.
    public var executionCount: UInt64 = 0
    public var success = StatisticDuration()
    public var fail = StatisticDuration()
    public var queue = StatisticDuration()
    public var computeInput = StatisticDuration()
    public var computeInfer = StatisticDuration()
    public var computeOutput = StatisticDuration()
    public var batches: [BatchStatistics] = []
    /// `model_warmup` runs before the version became ready, over all instances.
    public var warmup = StatisticDuration()
    /// Resident memory the version took when it loaded (Triton's `memory_usage`, CPU); nil if not measured.
    public var memoryBytes: Int?

    public init(name: String, version: String) {
        self.name = name
        self.version = version
    }
}

/// The live counters of one loaded model version.
final class StatisticsRecorder: Sendable {
    private let state: Mutex<ModelStatistics>

    init(name: String, version: String) {
        state = Mutex(ModelStatistics(name: name, version: version))
    }

    var snapshot: ModelStatistics { state.withLock { $0 } }

    /// One request answered: its total time, queue wait and the compute of
    /// the execution it was part of (as Triton counts per request).
    func recordSuccess(total: Duration, queue: Duration, compute: Duration) {
        state.withLock { stats in
            stats.success.add(total)
            stats.queue.add(queue)
            // The backend's run covers tensor setup, the run and output copy in one
            // call; it is reported as compute_infer with zero-cost input/output phases.
            stats.computeInput.add(.zero)
            stats.computeInfer.add(compute)
            stats.computeOutput.add(.zero)
            stats.lastInference = UInt64(Date().timeIntervalSince1970 * 1000)
        }
    }

    /// One backend execution of `batchSize` rows (one or more requests).
    func recordExecution(batchSize: Int, compute: Duration) {
        state.withLock { stats in
            stats.inferenceCount += UInt64(batchSize)
            stats.executionCount += 1
            if let index = stats.batches.firstIndex(where: { $0.batchSize == UInt64(batchSize) }) {
                stats.batches[index].computeInput.add(.zero)
                stats.batches[index].computeInfer.add(compute)
                stats.batches[index].computeOutput.add(.zero)
            } else {
                var batch = ModelStatistics.BatchStatistics(batchSize: UInt64(batchSize))
                batch.computeInput.add(.zero)
                batch.computeInfer.add(compute)
                batch.computeOutput.add(.zero)
                stats.batches.append(batch)
                stats.batches.sort { $0.batchSize < $1.batchSize }
            }
        }
    }

    func recordWarmup(_ warmup: StatisticDuration) {
        state.withLock { $0.warmup = warmup }
    }

    func recordMemory(_ bytes: Int) {
        state.withLock { $0.memoryBytes = bytes }
    }

    func recordFailure(total: Duration) {
        state.withLock { $0.fail.add(total) }
    }
}

extension Duration {
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds)) / 1_000_000_000
    }
}
