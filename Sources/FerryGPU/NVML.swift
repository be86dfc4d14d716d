import FerryCore
import Synchronization

/// Per-GPU utilization, memory and power through the NVIDIA Management
/// Library (`libnvidia-ml.so.1`, from the driver). On a machine without it
/// `sample()` returns nothing, and no GPU metrics are exported.
public final class NVML: Sendable {
    public static let shared = NVML()
    public static let libraryName = "libnvidia-ml.so.1"

    private struct Functions: @unchecked Sendable {
        typealias Device = OpaquePointer
        let count: @convention(c) (UnsafeMutablePointer<UInt32>) -> Int32
        let handle: @convention(c) (UInt32, UnsafeMutablePointer<Device?>) -> Int32
        let uuid: (@convention(c) (Device, UnsafeMutablePointer<CChar>, UInt32) -> Int32)?
        let name: (@convention(c) (Device, UnsafeMutablePointer<CChar>, UInt32) -> Int32)?
        /// nvmlUtilization_t: gpu, memory (percent).
        let utilization: (@convention(c) (Device, UnsafeMutablePointer<UInt32>) -> Int32)?
        /// nvmlMemory_t: total, free, used (bytes).
        let memory: (@convention(c) (Device, UnsafeMutablePointer<UInt64>) -> Int32)?
        let power: (@convention(c) (Device, UnsafeMutablePointer<UInt32>) -> Int32)?
        let powerLimit: (@convention(c) (Device, UnsafeMutablePointer<UInt32>) -> Int32)?
        let energy: (@convention(c) (Device, UnsafeMutablePointer<UInt64>) -> Int32)?
    }

    /// Loaded on the first sample; nil for good when NVML is absent or fails to start.
    private let state = Mutex<Functions??>(nil)

    public init() {}

    /// Whether the library loaded and initialized (loading it if not tried yet).
    public var isAvailable: Bool { functions() != nil }

    private func functions() -> Functions? {
        state.withLock { state in
            if let loaded = state { return loaded }
            let loaded = Self.load()
            state = .some(loaded)
            return loaded
        }
    }

    private static func load() -> Functions? {
        guard case .success(let library) = SharedLibrary.open(libraryName),
            let initialize = library.function("nvmlInit_v2", as: (@convention(c) () -> Int32).self),
            initialize() == 0,
            let count = library.function("nvmlDeviceGetCount_v2", as: (@convention(c) (UnsafeMutablePointer<UInt32>) -> Int32).self),
            let handle = library.function(
                "nvmlDeviceGetHandleByIndex_v2",
                as: (@convention(c) (UInt32, UnsafeMutablePointer<Functions.Device?>) -> Int32).self)
        else { return nil }
        return Functions(
            count: count, handle: handle,
            uuid: library.function("nvmlDeviceGetUUID", as: (@convention(c) (Functions.Device, UnsafeMutablePointer<CChar>, UInt32) -> Int32).self),
            name: library.function("nvmlDeviceGetName", as: (@convention(c) (Functions.Device, UnsafeMutablePointer<CChar>, UInt32) -> Int32).self),
            utilization: library.function(
                "nvmlDeviceGetUtilizationRates", as: (@convention(c) (Functions.Device, UnsafeMutablePointer<UInt32>) -> Int32).self),
            memory: library.function("nvmlDeviceGetMemoryInfo", as: (@convention(c) (Functions.Device, UnsafeMutablePointer<UInt64>) -> Int32).self),
            power: library.function("nvmlDeviceGetPowerUsage", as: (@convention(c) (Functions.Device, UnsafeMutablePointer<UInt32>) -> Int32).self),
            powerLimit: library.function(
                "nvmlDeviceGetEnforcedPowerLimit", as: (@convention(c) (Functions.Device, UnsafeMutablePointer<UInt32>) -> Int32).self),
            energy: library.function(
                "nvmlDeviceGetTotalEnergyConsumption", as: (@convention(c) (Functions.Device, UnsafeMutablePointer<UInt64>) -> Int32).self)
        )
    }

    /// Every device's figures now; empty without NVML. A figure the device
    /// does not report (power on some boards) is left out, not zero.
    public func sample() -> [GPUSample] {
        guard let nvml = functions() else { return [] }
        var count: UInt32 = 0
        guard nvml.count(&count) == 0 else { return [] }
        return (0..<count).compactMap { index -> GPUSample? in
            var device: Functions.Device?
            guard nvml.handle(index, &device) == 0, let device else { return nil }
            func text(_ read: (@convention(c) (Functions.Device, UnsafeMutablePointer<CChar>, UInt32) -> Int32)?) -> String {
                var buffer = [CChar](repeating: 0, count: 96)
                guard let read, read(device, &buffer, UInt32(buffer.count)) == 0 else { return "" }
                return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            }
            var sample = GPUSample(index: Int(index), uuid: text(nvml.uuid), name: text(nvml.name))
            var rates = [UInt32](repeating: 0, count: 2)
            if let read = nvml.utilization, read(device, &rates) == 0 { sample.utilization = Double(rates[0]) / 100 }
            var memory = [UInt64](repeating: 0, count: 3)
            if let read = nvml.memory, read(device, &memory) == 0 {
                sample.memoryTotalBytes = Double(memory[0])
                sample.memoryUsedBytes = Double(memory[2])
            }
            var milliwatts: UInt32 = 0
            if let read = nvml.power, read(device, &milliwatts) == 0 { sample.powerWatts = Double(milliwatts) / 1000 }
            if let read = nvml.powerLimit, read(device, &milliwatts) == 0 { sample.powerLimitWatts = Double(milliwatts) / 1000 }
            var millijoules: UInt64 = 0
            if let read = nvml.energy, read(device, &millijoules) == 0 { sample.energyJoules = Double(millijoules) / 1000 }
            return sample
        }
    }
}
