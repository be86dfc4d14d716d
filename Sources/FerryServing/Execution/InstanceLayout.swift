import FerryCore

/// Where a version's instances run: its `instance_group`s (or the server's
/// default device) settled against the GPUs found and what the backend can do.
struct InstanceLayout: Sendable {
    /// CPU instances configured; nil: the server's choice (or none when `hasCPU` is false).
    var cpuCount: Int?
    var hasCPU: Bool
    /// One entry per GPU instance, in the order loaded.
    var gpuInstances: [InstancePlacement]
    /// The groups as placed, for the configuration the server reports.
    var groups: [ModelConfiguration.InstanceGroup]
    /// Why a KIND_AUTO group stayed on the CPU, for the log.
    var fallbackReason: String?
    /// Whether a KIND_AUTO group went to a GPU (and may fall back if that fails).
    var autoOnGPU = false

    /// Checks in the order a user fixes them: the driver, the device, the provider library.
    static func resolve(
        _ configuration: ModelConfiguration,
        defaultGroup: ModelConfiguration.InstanceGroup?,
        inventory: any GPUInventory,
        backend: any Backend,
        autoOnCPU: Bool = false
    ) throws(FerryError) -> InstanceLayout {
        let model = configuration.name
        let configured = configuration.instanceGroups.isEmpty ? (defaultGroup.map { [$0] } ?? []) : configuration.instanceGroups
        var layout = InstanceLayout(cpuCount: nil, hasCPU: configured.isEmpty, gpuInstances: [], groups: [])
        var cpuTotal = 0
        func gpuDevices(for group: ModelConfiguration.InstanceGroup) -> Result<[Int], FerryError> {
            let asked = group.gpus.isEmpty ? "a GPU" : "GPU \(group.gpus.map(String.init).joined(separator: ", "))"
            let devices: [GPUDevice]
            switch inventory.devices() {
            case .success(let found): devices = found
            case .failure(let reason):
                return .failure(FerryError(.failedPrecondition, "model '\(model)' asks for \(asked), but \(reason.message)"))
            }
            let ordinals = devices.map(\.ordinal)
            if let missing = group.gpus.first(where: { !ordinals.contains($0) }) {
                let listed = devices.map { "\($0.ordinal)\($0.name.isEmpty ? "" : ": \($0.name)")" }.joined(separator: "; ")
                return .failure(
                    FerryError(
                        .failedPrecondition,
                        "model '\(model)' asks for GPU \(missing), but this machine has no device \(missing): the driver sees \(devices.count) (\(listed))"
                    ))
            }
            if let reason = backend.gpuUnavailableReason(accelerators: configuration.gpuAccelerators) {
                return .failure(FerryError(.failedPrecondition, "model '\(model)' asks for \(asked), but \(reason)"))
            }
            return .success(group.gpus.isEmpty ? ordinals : group.gpus)
        }
        for group in configured {
            var placed = group
            switch group.kind {
            case .cpu:
                layout.hasCPU = true
                cpuTotal += group.count
            case .gpu, .auto:
                let devices =
                    group.kind == .auto && autoOnCPU
                    ? .failure(FerryError(.failedPrecondition, "its GPU instances failed to load")) : gpuDevices(for: group)
                switch devices {
                case .success(let ordinals):
                    placed.kind = .gpu
                    placed.gpus = ordinals
                    placed.count = max(1, group.count)
                    if group.kind == .auto { layout.autoOnGPU = true }
                    for ordinal in ordinals {
                        for _ in 0..<placed.count {
                            layout.gpuInstances.append(InstancePlacement(device: .gpu(ordinal), accelerators: configuration.gpuAccelerators))
                        }
                    }
                case .failure(let error):
                    guard group.kind == .auto else { throw error }
                    layout.fallbackReason = error.message
                    placed.kind = .cpu
                    layout.hasCPU = true
                    cpuTotal += group.count
                }
            }
            layout.groups.append(placed)
        }
        if layout.hasCPU && cpuTotal > 0 { layout.cpuCount = cpuTotal }
        return layout
    }
}
