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

    init(model: String, version: String) {
        let dimensions = [("model", model), ("version", version)]
        success = Counter(label: "ferry_inference_request_success", dimensions: dimensions)
        failure = Counter(label: "ferry_inference_request_failure", dimensions: dimensions)
        inferenceCount = Counter(label: "ferry_inference_count", dimensions: dimensions)
        executionCount = Counter(label: "ferry_inference_exec_count", dimensions: dimensions)
        requestDuration = Counter(label: "ferry_inference_request_duration_us", dimensions: dimensions)
        queueDuration = Counter(label: "ferry_inference_queue_duration_us", dimensions: dimensions)
        computeDuration = Counter(label: "ferry_inference_compute_infer_duration_us", dimensions: dimensions)
    }

    func recordExecution(batchSize: Int) {
        inferenceCount.increment(by: batchSize)
        executionCount.increment()
    }

    func recordSuccess(total: Duration, queue: Duration, compute: Duration) {
        success.increment()
        requestDuration.increment(by: Int(total.nanoseconds / 1000))
        queueDuration.increment(by: Int(queue.nanoseconds / 1000))
        computeDuration.increment(by: Int(compute.nanoseconds / 1000))
    }

    func recordFailure(total: Duration) {
        failure.increment()
        requestDuration.increment(by: Int(total.nanoseconds / 1000))
    }
}

/// `ferry_model_ready{model,version}`: 1 while a version serves, 0 otherwise.
enum ModelStateMetric {
    static func set(model: String, version: String, ready: Bool) {
        Gauge(label: "ferry_model_ready", dimensions: [("model", model), ("version", version)]).record(ready ? 1 : 0)
    }
}
