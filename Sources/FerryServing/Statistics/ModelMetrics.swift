import Metrics

/// Prometheus-style counters of one model version (exported by whichever
/// swift-metrics backend the process bootstraps; none in unit tests).
/// Names follow Triton's `nv_inference_*` metrics with Ferry's prefix.
struct ModelMetrics: Sendable {
    let success: Counter
    let failure: Counter
    let inferenceCount: Counter
    let executionCount: Counter
    let requestDuration: Counter
    let queueDuration: Counter
    let computeDuration: Counter
    /// Distributions: rows per execution, queue wait and compute per request.
    let batchSize: Recorder
    let queueTime: Metrics.Timer
    let computeTime: Metrics.Timer

    static let batchSizeLabel = "ferry_inference_batch_size"
    static let queueTimeLabel = "ferry_inference_queue_duration_seconds"
    static let computeTimeLabel = "ferry_inference_compute_duration_seconds"

    init(model: String, version: String) {
        let dimensions = [("model", model), ("version", version)]
        success = Counter(label: "ferry_inference_request_success", dimensions: dimensions)
        failure = Counter(label: "ferry_inference_request_failure", dimensions: dimensions)
        inferenceCount = Counter(label: "ferry_inference_count", dimensions: dimensions)
        executionCount = Counter(label: "ferry_inference_exec_count", dimensions: dimensions)
        requestDuration = Counter(label: "ferry_inference_request_duration_us", dimensions: dimensions)
        queueDuration = Counter(label: "ferry_inference_queue_duration_us", dimensions: dimensions)
        computeDuration = Counter(label: "ferry_inference_compute_infer_duration_us", dimensions: dimensions)
        batchSize = Recorder(label: Self.batchSizeLabel, dimensions: dimensions, aggregate: true)
        queueTime = Metrics.Timer(label: Self.queueTimeLabel, dimensions: dimensions)
        computeTime = Metrics.Timer(label: Self.computeTimeLabel, dimensions: dimensions)
    }

    func recordExecution(batchSize rows: Int) {
        inferenceCount.increment(by: rows)
        executionCount.increment()
        batchSize.record(rows)
    }

    func recordSuccess(total: Duration, queue: Duration, compute: Duration) {
        success.increment()
        requestDuration.increment(by: Int(total.nanoseconds / 1000))
        queueDuration.increment(by: Int(queue.nanoseconds / 1000))
        queueTime.recordNanoseconds(Int64(clamping: queue.nanoseconds))
        computeTime.recordNanoseconds(Int64(clamping: compute.nanoseconds))
        computeDuration.increment(by: Int(compute.nanoseconds / 1000))
    }

    func recordFailure(total: Duration) {
        failure.increment()
        requestDuration.increment(by: Int(total.nanoseconds / 1000))
    }
}

/// Histogram buckets for the distributions above: inference takes
/// microseconds to seconds, and batches hold 1 to a few hundred rows.
public enum MetricsBuckets {
    public static let durations: [String: [Duration]] = [
        ModelMetrics.queueTimeLabel: durationBuckets,
        ModelMetrics.computeTimeLabel: durationBuckets,
        ModelLifecycleMetrics.loadTimeLabel: [
            .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ],
    ]
    public static let values: [String: [Double]] = [ModelMetrics.batchSizeLabel: [1, 2, 4, 8, 16, 32, 64, 128, 256]]

    static let durationBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
    ]
}

/// `ferry_model_ready{model,version}`: 1 while a version serves, 0 otherwise.
enum ModelStateMetric {
    static func set(model: String, version: String, ready: Bool) {
        Gauge(label: "ferry_model_ready", dimensions: [("model", model), ("version", version)]).record(ready ? 1 : 0)
    }
}
