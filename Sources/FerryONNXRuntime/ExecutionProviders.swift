import CONNXRuntime
import FerryCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension ONNXRuntime {
    static let cudaProvider = "CUDAExecutionProvider"
    static let tensorRTProvider = "TensorrtExecutionProvider"

    /// The execution providers compiled into this build of ONNX Runtime
    /// (`CPUExecutionProvider` always; the GPU build adds CUDA and TensorRT).
    public var availableProviders: [String] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        var count: Int32 = 0
        guard (try? check(api.pointee.GetAvailableProviders!(&names, &count), "GetAvailableProviders")) != nil, let names else {
            return []
        }
        defer { _ = try? check(api.pointee.ReleaseAvailableProviders!(names, count), "ReleaseAvailableProviders") }
        return (0..<Int(count)).compactMap { names[$0].map { String(cString: $0) } }
    }

    /// Why instances with `accelerators` cannot run on a GPU with this
    /// library: a CPU build, or a GPU build whose provider libraries are not
    /// beside it (ONNX Runtime loads them from its own directory).
    public func gpuUnavailableReason(accelerators: [ExecutionAccelerator]) -> String? {
        let available = availableProviders
        let install = "install the GPU build with `scripts/install-onnxruntime --gpu` and serve with --onnxruntime-lib .deps/onnxruntime-gpu/lib/libonnxruntime.so"
        guard available.contains(Self.cudaProvider) else {
            return "ONNX Runtime \(version) at \(libraryPath) is a CPU build: its CUDA provider library (libonnxruntime_providers_cuda.so) is missing; \(install)"
        }
        var files = ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"]
        if accelerators.contains(where: { $0.name == "tensorrt" }) {
            guard available.contains(Self.tensorRTProvider) else {
                return "ONNX Runtime \(version) at \(libraryPath) was built without TensorRT"
            }
            files.append("libonnxruntime_providers_tensorrt.so")
        }
        // A bare name was found on the system path; ONNX Runtime reports that case itself.
        guard let directory = libraryDirectory else { return nil }
        for file in files where !FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path) {
            return "the provider library \(file) is missing from \(directory.path), where ONNX Runtime looks for it beside \(libraryPath); \(install)"
        }
        return nil
    }

    /// The directory the library was loaded from, where its provider
    /// libraries and (installed by `--gpu`) the CUDA libraries are; nil when
    /// it was found by bare name on the system path.
    private var libraryDirectory: URL? {
        libraryPath.contains("/") ? URL(fileURLWithPath: libraryPath).resolvingSymlinksInPath().deletingLastPathComponent() : nil
    }

    /// Appends TensorRT (when asked) and then CUDA: ONNX Runtime gives each
    /// node to the first provider that takes it, and the rest to the CPU.
    func appendProviders(_ placement: InstancePlacement, to options: OpaquePointer) throws(ONNXRuntimeFailure) {
        guard case .gpu(let ordinal) = placement.device else { return }
        preloadCUDALibraries()
        let parameters = Dictionary(placement.accelerators.map { ($0.name, $0.parameters) }) { first, _ in first }
        if let tensorRT = parameters["tensorrt"] {
            var handle: OpaquePointer?
            try check(api.pointee.CreateTensorRTProviderOptions!(&handle), "CreateTensorRTProviderOptions")
            defer { api.pointee.ReleaseTensorRTProviderOptions!(handle) }
            let settings = ["device_id": String(ordinal)].merging(Self.tensorRTOptions(tensorRT)) { $1 }
            try withOptionArrays(settings) { keys, values, count throws(ONNXRuntimeFailure) in
                try providerCheck(api.pointee.UpdateTensorRTProviderOptions!(handle, keys, values, count), "TensorRT")
            }
            try providerCheck(api.pointee.SessionOptionsAppendExecutionProvider_TensorRT_V2!(options, handle), "TensorRT")
        }
        var handle: OpaquePointer?
        try check(api.pointee.CreateCUDAProviderOptions!(&handle), "CreateCUDAProviderOptions")
        defer { api.pointee.ReleaseCUDAProviderOptions!(handle) }
        let settings = ["device_id": String(ordinal)].merging(Self.normalizedBooleans(parameters["cuda"] ?? [:])) { $1 }
        try withOptionArrays(settings) { keys, values, count throws(ONNXRuntimeFailure) in
            try providerCheck(api.pointee.UpdateCUDAProviderOptions!(handle, keys, values, count), "CUDA")
        }
        try providerCheck(api.pointee.SessionOptionsAppendExecutionProvider_CUDA_V2!(options, handle), "CUDA")
    }

    /// The CUDA libraries `scripts/install-onnxruntime --gpu` puts beside
    /// ONNX Runtime, in the order they need each other. The provider
    /// libraries have no RUNPATH, so they find these only when already
    /// loaded (by soname) or on the loader's path.
    static let cudaLibraries = [
        "libcudart.so.13", "libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10", "libcufft.so.12", "libnvrtc.so.13",
        "libcudnn_graph.so.9", "libcudnn_ops.so.9", "libcudnn_cnn.so.9", "libcudnn_adv.so.9", "libcudnn_heuristic.so.9",
        "libcudnn_engines_precompiled.so.9", "libcudnn_engines_runtime_compiled.so.9", "libcudnn_engines_tensor_ir.so.9",
        "libcudnn_ext.so.9", "libcudnn.so.9",
    ]

    /// Loads, once and globally, those of `cudaLibraries` beside this ONNX
    /// Runtime; a missing one is left for the loader's own search (a CUDA
    /// base image), and ONNX Runtime names whatever is still missing.
    private func preloadCUDALibraries() {
        guard let directory = libraryDirectory else { return }
        Self.preloaded.withLock { done in
            guard done.insert(directory.path).inserted else { return }
            for name in Self.cudaLibraries {
                let path = directory.appendingPathComponent(name).path
                if FileManager.default.fileExists(atPath: path) { _ = dlopen(path, RTLD_NOW | RTLD_GLOBAL) }
            }
        }
    }

    private static let preloaded = Mutex<Set<String>>([])

    /// Triton's names for TensorRT's settings, as ONNX Runtime spells them.
    package static func tensorRTOptions(_ parameters: [String: String]) -> [String: String] {
        var options: [String: String] = [:]
        for (key, value) in normalizedBooleans(parameters) {
            switch key {
            case "precision_mode": options["trt_fp16_enable"] = value == "FP16" ? "1" : "0"
            case "max_workspace_size_bytes": options["trt_max_workspace_size"] = value
            case "minimum_segment_size": options["trt_min_subgraph_size"] = value
            case "max_partition_iterations": options["trt_max_partition_iterations"] = value
            default: options[key] = value
            }
        }
        return options
    }

    private static func normalizedBooleans(_ parameters: [String: String]) -> [String: String] {
        parameters.mapValues { value in
            switch value {
            case "true", "True": "1"
            case "false", "False": "0"
            default: value
            }
        }
    }

    /// A provider failure in a sentence: ONNX Runtime's message for a library
    /// that does not load starts with its source location.
    private func providerCheck(_ status: OpaquePointer?, _ provider: String) throws(ONNXRuntimeFailure) {
        do throws(ONNXRuntimeFailure) {
            try check(status, "\(provider) provider")
        } catch {
            var failure = error
            if let range = failure.message.firstRange(of: "Failed to load library ") {
                let detail = failure.message[range.upperBound...].split(separator: "\n").first ?? ""
                failure.message = "the \(provider) provider library cannot be loaded: \(detail)"
            }
            throw failure
        }
    }

    private func withOptionArrays(
        _ settings: [String: String],
        _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>, Int) throws(ONNXRuntimeFailure) -> Void
    ) throws(ONNXRuntimeFailure) {
        let sorted = settings.sorted { $0.key < $1.key }
        let keys = CStringList(sorted.map(\.key))
        let values = CStringList(sorted.map(\.value))
        let keyPointers: [UnsafePointer<CChar>?] = (0..<sorted.count).map { keys[$0] }
        let valuePointers: [UnsafePointer<CChar>?] = (0..<sorted.count).map { values[$0] }
        try keyPointers.withUnsafeBufferPointer { keyBuffer throws(ONNXRuntimeFailure) in
            try valuePointers.withUnsafeBufferPointer { valueBuffer throws(ONNXRuntimeFailure) in
                try body(keyBuffer.baseAddress!, valueBuffer.baseAddress!, sorted.count)
            }
        }
    }
}
