import FerryCore

/// `ferry serve --device`: where models whose config has no `instance_group` run.
public enum DeviceRequest: Sendable, Hashable, CustomStringConvertible {
    case cpu
    /// On the GPUs when the machine has any the backend can use, else on
    /// the CPU (Triton's KIND_AUTO; what GPU images default to).
    case auto
    /// One instance on each visible GPU (`cuda`), or on one (`cuda:N`).
    case cuda(Int?)

    /// `cpu`, `auto`, `cuda`, `cuda:N` (`gpu` and `gpu:N` too).
    public init?(parsing text: String) {
        let lowered = text.lowercased()
        if lowered == "cpu" { self = .cpu; return }
        if lowered == "auto" { self = .auto; return }
        let parts = lowered.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard ["cuda", "gpu"].contains(parts[0]) else { return nil }
        if parts.count == 1 { self = .cuda(nil); return }
        guard let ordinal = Int(parts[1]), ordinal >= 0 else { return nil }
        self = .cuda(ordinal)
    }

    public var description: String {
        switch self {
        case .cpu: "cpu"
        case .auto: "auto"
        case .cuda(nil): "cuda"
        case .cuda(let ordinal?): "cuda:\(ordinal)"
        }
    }

    var group: ModelConfiguration.InstanceGroup? {
        switch self {
        case .cpu: nil
        case .auto: ModelConfiguration.InstanceGroup(kind: .auto)
        case .cuda(let ordinal): ModelConfiguration.InstanceGroup(kind: .gpu, count: 1, gpus: ordinal.map { [$0] } ?? [])
        }
    }
}
