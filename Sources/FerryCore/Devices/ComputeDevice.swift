/// Where one instance (session) of a model runs.
public enum ComputeDevice: Sendable, Hashable, CustomStringConvertible {
    case cpu
    /// A CUDA device by its ordinal among the devices the process sees
    /// (after `CUDA_VISIBLE_DEVICES`/`NVIDIA_VISIBLE_DEVICES`).
    case gpu(Int)

    /// `cpu`, `cuda:N`: what `ferry serve --device` takes and logs show.
    public var description: String {
        switch self {
        case .cpu: "cpu"
        case .gpu(let ordinal): "cuda:\(ordinal)"
        }
    }

    public var isGPU: Bool { if case .gpu = self { true } else { false } }
}

/// An execution accelerator of a GPU instance, as Triton's
/// `optimization { execution_accelerators { gpu_execution_accelerator } }` names it.
public struct ExecutionAccelerator: Sendable, Hashable {
    /// `tensorrt`, or `cuda` for options of the CUDA provider itself.
    public var name: String
    public var parameters: [String: String]

    public init(name: String, parameters: [String: String] = [:]) {
        self.name = name
        self.parameters = parameters
    }
}

/// The device an instance runs on, and for a GPU instance the accelerators
/// tried before the CUDA provider's own kernels.
public struct InstancePlacement: Sendable, Hashable, CustomStringConvertible {
    public var device: ComputeDevice
    public var accelerators: [ExecutionAccelerator]

    public init(device: ComputeDevice, accelerators: [ExecutionAccelerator] = []) {
        self.device = device
        self.accelerators = device.isGPU ? accelerators : []
    }

    public static let cpu = InstancePlacement(device: .cpu)

    public var description: String {
        let names = accelerators.map(\.name).filter { $0 != "cuda" }
        return names.isEmpty ? device.description : "\(device) (\(names.joined(separator: ", ")))"
    }
}

/// The CUDA devices of this machine, as the driver reports them. Failures
/// are the reasons a GPU instance cannot be placed, each its own sentence.
public protocol GPUInventory: Sendable {
    /// The visible devices, or why there are none (no driver, no device).
    func devices() -> Result<[GPUDevice], FerryError>
}

public struct GPUDevice: Sendable, Hashable {
    public var ordinal: Int
    public var name: String
    public var memoryBytes: Int

    public init(ordinal: Int, name: String, memoryBytes: Int) {
        self.ordinal = ordinal
        self.name = name
        self.memoryBytes = memoryBytes
    }
}
