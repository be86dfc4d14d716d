import FerryCore
import FerryONNXRuntime
import Testing

/// The CPU build's answers through the C API's provider calls (GetAvailableProviders,
/// CreateCUDAProviderOptions): the slots are right, and a GPU placement fails
/// with ONNX Runtime's own sentence. The GPU build is exercised by
/// tests/conformance/test_gpu.py in processes of its own (one ONNX Runtime per process).
@Suite("ONNX Runtime's execution providers")
struct ExecutionProviderTests {
    @Test("the CPU build lists only CPU providers, and says why a GPU instance cannot run")
    func cpuBuild() throws {
        let runtime = try Fixtures.runtime()
        #expect(runtime.availableProviders.contains("CPUExecutionProvider"))
        #expect(!runtime.availableProviders.contains("CUDAExecutionProvider"))
        let reason = try #require(runtime.gpuUnavailableReason(accelerators: []))
        #expect(reason.contains("is a CPU build: its CUDA provider library (libonnxruntime_providers_cuda.so) is missing"))
    }

    @Test("a session placed on a GPU by the CPU build fails to load with ONNX Runtime's reason")
    func gpuSessionOnCPUBuild() throws {
        var options = ONNXRuntimeOptions()
        options.placement = InstancePlacement(device: .gpu(0))
        let error = #expect(throws: FerryError.self) { try Fixtures.session("mlp", options: options) }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.message.contains("CUDA execution provider is not enabled in this build") == true, "\(error?.message ?? "")")

        options.placement = InstancePlacement(device: .gpu(0), accelerators: [ExecutionAccelerator(name: "tensorrt")])
        let tensorRT = #expect(throws: FerryError.self) { try Fixtures.session("mlp", options: options) }
        #expect(tensorRT?.message.contains("TensorRT execution provider is not enabled in this build") == true, "\(tensorRT?.message ?? "")")
    }

    @Test("Triton's TensorRT parameter names become ONNX Runtime's")
    func tensorRTNames() {
        let options = ONNXRuntime.tensorRTOptions([
            "precision_mode": "FP16", "max_workspace_size_bytes": "1073741824", "minimum_segment_size": "5",
            "trt_engine_cache_enable": "true", "trt_engine_cache_path": "/cache",
        ])
        #expect(
            options == [
                "trt_fp16_enable": "1", "trt_max_workspace_size": "1073741824", "trt_min_subgraph_size": "5",
                "trt_engine_cache_enable": "1", "trt_engine_cache_path": "/cache",
            ])
        #expect(ONNXRuntime.tensorRTOptions(["precision_mode": "FP32"]) == ["trt_fp16_enable": "0"])
    }
}
