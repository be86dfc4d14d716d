import FerryCore
import Synchronization

/// The CUDA devices as the driver API (`libcuda.so.1`, which the NVIDIA
/// driver installs and the NVIDIA container toolkit mounts) reports them.
/// It is what ONNX Runtime's CUDA provider needs too, so a model asking for
/// a GPU is refused here first, with the driver's own reason.
public final class CUDADriver: GPUInventory {
    public static let shared = CUDADriver()

    public static let libraryName = "libcuda.so.1"
    private let probed = Mutex<Result<[GPUDevice], FerryError>?>(nil)

    public init() {}

    /// Probed once: the driver's answer does not change while the process runs.
    public func devices() -> Result<[GPUDevice], FerryError> {
        probed.withLock { cached in
            if let cached { return cached }
            let result = Self.probe()
            cached = result
            return result
        }
    }

    private typealias Init = @convention(c) (UInt32) -> Int32
    private typealias GetCount = @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    private typealias GetDevice = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    private typealias GetName = @convention(c) (UnsafeMutablePointer<CChar>, Int32, Int32) -> Int32
    private typealias TotalMemory = @convention(c) (UnsafeMutablePointer<Int>, Int32) -> Int32
    private typealias ErrorName = @convention(c) (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> Int32

    private static func probe() -> Result<[GPUDevice], FerryError> {
        let library: SharedLibrary
        switch SharedLibrary.open(libraryName) {
        case .success(let opened): library = opened
        case .failure(let failure):
            return .failure(
                FerryError(
                    .failedPrecondition,
                    "this machine has no NVIDIA driver: \(libraryName) cannot be loaded (\(failure.message)); install the driver, or in a container run with the NVIDIA container toolkit (--gpus, nvidia.com/gpu)"
                ))
        }
        guard let initialize = library.function("cuInit", as: Init.self),
            let count = library.function("cuDeviceGetCount", as: GetCount.self),
            let device = library.function("cuDeviceGet", as: GetDevice.self)
        else {
            return .failure(FerryError(.failedPrecondition, "\(libraryName) is not the CUDA driver: it lacks cuInit or cuDeviceGetCount"))
        }
        let errorName = library.function("cuGetErrorName", as: ErrorName.self)
        func describe(_ code: Int32) -> String {
            var name: UnsafePointer<CChar>?
            if let errorName, errorName(code, &name) == 0, let name { return "\(String(cString: name)) (\(code))" }
            return "CUresult \(code)"
        }
        let status = initialize(0)
        // CUDA_ERROR_NO_DEVICE: a driver, but no device (or none visible).
        if status == 100 {
            return .failure(
                FerryError(
                    .failedPrecondition,
                    "the NVIDIA driver finds no CUDA device (cuInit: \(describe(status))); check CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES")
            )
        }
        guard status == 0 else {
            return .failure(FerryError(.failedPrecondition, "the NVIDIA driver failed to start (cuInit: \(describe(status)))"))
        }
        var total: Int32 = 0
        let counted = count(&total)
        guard counted == 0 else {
            return .failure(FerryError(.failedPrecondition, "the NVIDIA driver cannot count devices (cuDeviceGetCount: \(describe(counted)))"))
        }
        let name = library.function("cuDeviceGetName", as: GetName.self)
        let memory = library.function("cuDeviceTotalMem_v2", as: TotalMemory.self)
        let devices = (0..<max(0, Int(total))).map { ordinal -> GPUDevice in
            var handle: Int32 = 0
            guard device(&handle, Int32(ordinal)) == 0 else { return GPUDevice(ordinal: ordinal, name: "", memoryBytes: 0) }
            var buffer = [CChar](repeating: 0, count: 256)
            let named = name.map { $0(&buffer, Int32(buffer.count - 1), handle) == 0 } ?? false
            var bytes = 0
            if let memory, memory(&bytes, handle) != 0 { bytes = 0 }
            let text = named ? buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } : ""
            return GPUDevice(ordinal: ordinal, name: text, memoryBytes: bytes)
        }
        if devices.isEmpty {
            return .failure(FerryError(.failedPrecondition, "the NVIDIA driver finds no CUDA device; check CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES"))
        }
        return .success(devices)
    }
}
