import Metrics

/// Loads, evictions and memory of the models, for an operator sizing
/// `--model-memory-budget`: how often models come and go, how long a load
/// keeps a request waiting, and what each model takes.
struct ModelLifecycleMetrics: Sendable {
    static let loadTimeLabel = "ferry_model_load_duration_seconds"

    let budget = Gauge(label: "ferry_model_memory_budget_bytes")
    let used = Gauge(label: "ferry_model_memory_used_bytes")
    let loadTime = Metrics.Timer(label: Self.loadTimeLabel)

    func recordBudget(_ bytes: Int) { budget.record(bytes) }

    func recordLoad(model: String, duration: Duration) {
        Counter(label: "ferry_model_loads_total", dimensions: [("model", model)]).increment()
        loadTime.recordNanoseconds(Int64(clamping: duration.nanoseconds))
    }

    func recordEviction(model: String, used bytes: Int) {
        Counter(label: "ferry_model_evictions_total", dimensions: [("model", model)]).increment()
        Gauge(label: "ferry_model_memory_bytes", dimensions: [("model", model)]).record(0)
        used.record(bytes)
    }

    /// A model's measured memory after it loaded (0 once unloaded), and the total.
    func recordResident(model: String, bytes: Int, used total: Int) {
        Gauge(label: "ferry_model_memory_bytes", dimensions: [("model", model)]).record(bytes)
        used.record(total)
    }
}
