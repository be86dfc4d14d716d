import FerryCore

/// Requests waiting for a model instance: one FIFO per priority level
/// (1 highest), plus the requests whose timeout passed under the DELAY
/// action, which go after everything else.
struct RequestQueue<Job: Queued> {
    private var levels: [[Job]]
    private var delayed: [Job] = []

    init(levels: Int) {
        self.levels = Array(repeating: [], count: max(1, levels))
    }

    var count: Int { levels.reduce(delayed.count) { $0 + $1.count } }
    var isEmpty: Bool { count == 0 }

    mutating func append(_ job: Job) {
        levels[min(max(job.priority, 1), levels.count) - 1].append(job)
    }

    /// Takes a queued job out (a cancelled request), if it is still waiting.
    mutating func remove(id: UInt64) -> Job? {
        for level in levels.indices {
            if let index = levels[level].firstIndex(where: { $0.id == id }) { return levels[level].remove(at: index) }
        }
        if let index = delayed.firstIndex(where: { $0.id == id }) { return delayed.remove(at: index) }
        return nil
    }

    /// Jobs past their deadline: removed and returned under REJECT, moved
    /// behind every other job under DELAY.
    mutating func expire(now: ContinuousClock.Instant, action: ModelConfiguration.QueuePolicy.TimeoutAction) -> [Job] {
        var rejected: [Job] = []
        for level in levels.indices {
            let (late, onTime) = levels[level].partitioned { $0.deadline.map { $0 <= now } ?? false }
            guard !late.isEmpty else { continue }
            levels[level] = onTime
            if action == .reject { rejected += late } else { delayed += late }
        }
        return rejected
    }

    /// The next batch: the oldest job of the highest priority, then, in
    /// priority and arrival order, the jobs that can share its execution, up
    /// to `maxRows` rows (one job when the model does not batch). Preferred
    /// batch sizes trim the batch to the largest one it reaches.
    func nextBatch(maxRows: Int, preferred: [Int]) -> [Job] {
        let ordered = levels.joined() + delayed
        guard let head = ordered.first else { return [] }
        guard maxRows > 0 else { return [head] }
        var batch = [head]
        var rows = head.rows
        for job in ordered.dropFirst() where job.batchKey == head.batchKey && rows + job.rows <= maxRows {
            batch.append(job)
            rows += job.rows
        }
        if let target = preferred.last(where: { $0 <= rows }), target < rows {
            var kept: [Job] = []
            var keptRows = 0
            for job in batch where keptRows + job.rows <= target {
                kept.append(job)
                keptRows += job.rows
            }
            if !kept.isEmpty { return kept }
        }
        return batch
    }

    /// Takes the given jobs out of the queue.
    mutating func remove(_ batch: [Job]) {
        for job in batch { _ = remove(id: job.id) }
    }
}

/// What the queue needs to know about a job.
protocol Queued {
    var id: UInt64 { get }
    var priority: Int { get }
    var rows: Int { get }
    var deadline: ContinuousClock.Instant? { get }
    var batchKey: BatchAssembler.Key { get }
}

extension Array {
    func partitioned(by belongsFirst: (Element) -> Bool) -> ([Element], [Element]) {
        var first: [Element] = []
        var second: [Element] = []
        for element in self {
            if belongsFirst(element) { first.append(element) } else { second.append(element) }
        }
        return (first, second)
    }
}
