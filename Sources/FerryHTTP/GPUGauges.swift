import FerryGPU
import Prometheus

/// Triton's per-GPU metrics (`nv_gpu_utilization`, `nv_gpu_memory_*`,
/// `nv_gpu_power_*`, `nv_energy_consumption`) with Ferry's prefix, labelled by
/// `gpu_uuid` as Triton's are; set from NVML when scraped. A machine without
/// NVML exports none of them.
final class GPUGauges: Sendable {
    private let registry: PrometheusCollectorRegistry

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    func update(_ samples: [GPUSample]) {
        for sample in samples {
            let labels = [("gpu_uuid", sample.uuid.isEmpty ? "GPU-\(sample.index)" : sample.uuid)]
            let figures: [(String, Double?, String)] = [
                ("ferry_nv_gpu_utilization", sample.utilization, "GPU utilization rate [0.0 - 1.0)."),
                ("ferry_nv_gpu_memory_total_bytes", sample.memoryTotalBytes, "GPU total memory, in bytes."),
                ("ferry_nv_gpu_memory_used_bytes", sample.memoryUsedBytes, "GPU used memory, in bytes."),
                ("ferry_nv_gpu_power_usage", sample.powerWatts, "GPU power usage in watts."),
                ("ferry_nv_gpu_power_limit", sample.powerLimitWatts, "GPU power management limit in watts."),
                ("ferry_nv_energy_consumption", sample.energyJoules, "GPU energy consumption in joules since the driver loaded."),
            ]
            for (name, value, help) in figures {
                guard let value else { continue }
                registry.makeGauge(name: name, labels: labels, help: help).set(value)
            }
        }
    }
}
