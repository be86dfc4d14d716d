import FerryCore

/// How a model version's queue forms batches and treats waiting requests,
/// from `config.pbtxt`'s `max_batch_size` and `dynamic_batching`.
package struct SchedulingPolicy: Sendable, Hashable {
    /// Most rows in one execution; 0 runs requests one by one.
    package var maxBatchSize: Int
    package var preferredBatchSizes: [Int]
    /// How long the first request of a batch may wait for more to join.
    package var maxQueueDelay: Duration
    /// Requests waiting at most; 0 for no bound.
    package var maxQueueSize: Int
    package var defaultTimeout: Duration?
    package var timeoutAction: ModelConfiguration.QueuePolicy.TimeoutAction
    package var allowTimeoutOverride: Bool
    /// Priority levels 1 (highest) … `priorityLevels`.
    package var priorityLevels: Int
    package var defaultPriority: Int

    package init(configuration: ModelConfiguration) {
        let batching = configuration.dynamicBatching
        maxBatchSize = batching == nil ? 0 : configuration.maxBatchSize
        preferredBatchSizes = (batching?.preferredBatchSizes ?? []).sorted()
        maxQueueDelay = .microseconds(Int64(clamping: batching?.maxQueueDelayMicroseconds ?? 0))
        let queuePolicy = batching?.defaultQueuePolicy ?? ModelConfiguration.QueuePolicy()
        maxQueueSize = Int(queuePolicy.maxQueueSize)
        defaultTimeout =
            queuePolicy.defaultTimeoutMicroseconds > 0 ? .microseconds(Int64(clamping: queuePolicy.defaultTimeoutMicroseconds)) : nil
        timeoutAction = queuePolicy.timeoutAction
        allowTimeoutOverride = queuePolicy.allowTimeoutOverride
        priorityLevels = max(1, Int(clamping: batching?.priorityLevels ?? 0))
        let configuredDefault = Int(clamping: batching?.defaultPriorityLevel ?? 0)
        defaultPriority = (1...priorityLevels).contains(configuredDefault) ? configuredDefault : (priorityLevels + 1) / 2
    }

    /// The request's priority level from its `priority` parameter (0 or absent: the default).
    package func priority(of request: InferenceRequest, model: String) throws(FerryError) -> Int {
        guard let value = request.parameters["priority"] else { return defaultPriority }
        guard let level = value.intValue, level >= 0 else {
            throw FerryError(.invalidArgument, "the 'priority' parameter must be a non-negative integer")
        }
        if level == 0 { return defaultPriority }
        guard level <= priorityLevels else {
            throw FerryError(.invalidArgument, "priority \(level) is outside model '\(model)''s levels 1…\(priorityLevels) (1 is highest)")
        }
        return Int(level)
    }

    /// How long the request may wait: its `timeout` parameter (microseconds)
    /// where the config allows it, else the config's default.
    package func timeout(of request: InferenceRequest) throws(FerryError) -> Duration? {
        guard let value = request.parameters["timeout"] else { return defaultTimeout }
        guard let microseconds = value.intValue, microseconds >= 0 else {
            throw FerryError(.invalidArgument, "the 'timeout' parameter must be a non-negative number of microseconds")
        }
        guard defaultTimeout == nil || allowTimeoutOverride else { return defaultTimeout }
        return microseconds == 0 ? defaultTimeout : .microseconds(microseconds)
    }
}
