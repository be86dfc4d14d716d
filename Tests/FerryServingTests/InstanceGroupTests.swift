import FerryCore
import FerryServing
import Foundation
import Testing

@Suite("instance_group kinds and GPUs, execution accelerators")
struct InstanceGroupTests {
    @Test("KIND_GPU with gpus and count, KIND_AUTO by default, and TensorRT and CUDA accelerators are read")
    func parsesGPUConfig() throws {
        let config = try ModelConfiguration(
            pbtxt: """
                instance_group [ { name: "gpus", kind: KIND_GPU, count: 2, gpus: [ 0, 1 ] }, { count: 1 } ]
                optimization { execution_accelerators { gpu_execution_accelerator: [
                  { name: "tensorrt", parameters { key: "precision_mode" value: "FP16" }
                    parameters { key: "max_workspace_size_bytes" value: "1073741824" }
                    parameters { key: "trt_engine_cache_enable" value: "true" }
                    parameters { key: "trt_engine_cache_path" value: "/cache/trt" } },
                  { name: "cuda", parameters { key: "gpu_mem_limit" value: "2147483648" } } ] } }
                """, modelName: "m")
        #expect(
            config.instanceGroups == [
                .init(name: "gpus", kind: .gpu, count: 2, gpus: [0, 1]), .init(kind: .auto, count: 1),
            ])
        #expect(config.gpuAccelerators.map(\.name) == ["tensorrt", "cuda"])
        #expect(config.gpuAccelerators[0].parameters["precision_mode"] == "FP16")
        #expect(config.gpuAccelerators[1].parameters == ["gpu_mem_limit": "2147483648"])
    }

    @Test("GPU groups and accelerators round-trip through Triton's ModelConfig message")
    func roundTrip() throws {
        var config = ModelConfiguration(name: "m")
        config.instanceGroups = [.init(name: "m", kind: .gpu, count: 2, gpus: [1]), .init(name: "m", kind: .cpu, count: 1)]
        config.instanceCount = 3
        config.gpuAccelerators = [ExecutionAccelerator(name: "tensorrt", parameters: ["precision_mode": "FP16"])]
        let text = config.message.textFormatString()
        #expect(text.contains("kind: KIND_GPU") && text.contains("gpus: [1]") && text.contains("gpu_execution_accelerator"))
        #expect(try ModelConfiguration(pbtxt: text, modelName: "m") == config)
    }

    @Test(
        "each mistake is named with its field",
        arguments: [
            ("instance_group [ { kind: KIND_MODEL } ]", "instance_group[0] kind is KIND_MODEL; Ferry places instances itself"),
            ("instance_group [ { name: \"g\", kind: KIND_CPU, gpus: [ 0 ] } ]", "instance_group 'g' gpus lists 0, but the group is KIND_CPU"),
            ("instance_group [ { kind: KIND_GPU, gpus: [ -1 ] } ]", "instance_group[0] gpus has -1; GPUs are numbered from 0"),
            ("instance_group [ { kind: KIND_GPU, gpus: [ 1, 1 ] } ]", "instance_group[0] gpus lists GPU 1 twice"),
            ("instance_group [ { count: -2 } ]", "instance_group[0] count is -2"),
            (
                "optimization { execution_accelerators { gpu_execution_accelerator: [ { name: \"openvino\" } ] } }",
                "gpu_execution_accelerator names 'openvino'; Ferry knows 'cuda', 'tensorrt'"
            ),
            (
                "optimization { execution_accelerators { gpu_execution_accelerator: [ { name: \"tensorrt\", parameters { key: \"precision\" value: \"FP16\" } } ] } }",
                "gpu_execution_accelerator 'tensorrt' has parameter 'precision', which it does not take"
            ),
            (
                "optimization { execution_accelerators { gpu_execution_accelerator: [ { name: \"tensorrt\", parameters { key: \"precision_mode\" value: \"INT8\" } } ] } }",
                "parameter 'precision_mode' is 'INT8'; it must be FP32 or FP16"
            ),
            (
                "optimization { execution_accelerators { gpu_execution_accelerator: [ { name: \"cuda\", parameters { key: \"gpu_mem_limit\" value: \"2GB\" } } ] } }",
                "parameter 'gpu_mem_limit' is '2GB'; it must be a positive number of bytes"
            ),
            (
                "optimization { execution_accelerators { gpu_execution_accelerator: [ { name: \"cuda\" }, { name: \"cuda\" } ] } }",
                "names 'cuda' twice"
            ),
        ])
    func refusals(config: String, message: String) {
        let error = #expect(throws: FerryError.self) { try ModelConfiguration(pbtxt: config, modelName: "m") }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.message.contains("model 'm': config field ") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
    }

    @Test("--device takes cpu, auto, cuda and cuda:N")
    func deviceRequests() {
        #expect(DeviceRequest(parsing: "cpu") == .cpu)
        #expect(DeviceRequest(parsing: "auto") == .auto)
        #expect(DeviceRequest(parsing: "cuda") == .cuda(nil))
        #expect(DeviceRequest(parsing: "CUDA:1") == .cuda(1))
        #expect(DeviceRequest(parsing: "gpu:0") == .cuda(0))
        for bad in ["", "cuda:", "cuda:-1", "cuda:x", "tpu", "cpu:0"] { #expect(DeviceRequest(parsing: bad) == nil, "\(bad)") }
    }
}

/// GPUs as a driver would report them. The real driver does not run on this
/// machine; the ONNX Runtime behind these tests is the real CPU build.
struct ReportedGPUs: GPUInventory {
    var result: Result<[GPUDevice], FerryError>

    static func count(_ count: Int) -> ReportedGPUs {
        ReportedGPUs(result: .success((0..<count).map { GPUDevice(ordinal: $0, name: "GPU \($0)", memoryBytes: 16 << 30) }))
    }

    func devices() -> Result<[GPUDevice], FerryError> { result }
}

@Suite("placing instances on GPUs")
struct GPUPlacementTests {
    func serve(
        _ models: [String: String?], gpus: ReportedGPUs, device: DeviceRequest = .cpu
    ) async throws -> (InferenceServer, TestRepository) {
        let repository = try TestRepository()
        for (name, config) in models { try repository.add(name, fixture: "mlp", config: config) }
        let manager = ModelManager(
            repository: try ModelRepository(path: repository.path), backend: try TestRepository.backend(), defaultDevice: device, gpus: gpus)
        await manager.loadInitialModels()
        return (InferenceServer(manager: manager), repository)
    }

    func reason(_ server: InferenceServer, _ name: String) async -> String? {
        await server.repositoryIndex().first { $0.name == name }.map { $0.state == .unavailable ? $0.reason : "\($0.state.map { "\($0)" } ?? "")" }
    }

    @Test("a GPU model is UNAVAILABLE with the reason, in the order a user fixes them, while a CPU model serves")
    func reasons() async throws {
        let models: [String: String?] = [
            "gpu": "instance_group [ { kind: KIND_GPU, gpus: [ 1 ] } ]",
            "cpu": "instance_group [ { kind: KIND_CPU, count: 1 } ]",
        ]
        let noDriver = ReportedGPUs(result: .failure(FerryError(.failedPrecondition, "this machine has no NVIDIA driver: (test)")))
        var (server, repository) = try await serve(models, gpus: noDriver)
        #expect(await reason(server, "gpu") == "model 'gpu' asks for GPU 1, but this machine has no NVIDIA driver: (test)")
        _ = try await server.infer(mlpRequest(), model: "cpu")

        (server, repository) = try await serve(models, gpus: .count(1))
        #expect(await reason(server, "gpu") == "model 'gpu' asks for GPU 1, but this machine has no device 1: the driver sees 1 (0: GPU 0)")

        (server, repository) = try await serve(models, gpus: .count(2))
        let missing = try #require(await reason(server, "gpu"))
        #expect(missing.hasPrefix("model 'gpu' asks for GPU 1, but ONNX Runtime 1.31.1 at "))
        #expect(missing.contains("is a CPU build: its CUDA provider library (libonnxruntime_providers_cuda.so) is missing"))
        #expect(missing.contains("scripts/install-onnxruntime --gpu"))
        _ = try await server.infer(mlpRequest(), model: "cpu")
        _ = repository
    }

    @Test("KIND_AUTO and --device auto run on the CPU where a GPU cannot be used, and the config says KIND_CPU")
    func autoFallsBack() async throws {
        let (server, _) = try await serve(["auto": "instance_group [ { count: 2 } ]", "plain": nil], gpus: .count(1), device: .auto)
        _ = try await server.infer(mlpRequest(), model: "auto")
        _ = try await server.infer(mlpRequest(), model: "plain")
        let config = try await server.modelConfiguration("auto")
        #expect(config.instanceGroups == [.init(kind: .cpu, count: 2)])
        #expect(config.message.instanceGroup.map(\.kind) == [.cpu])
    }

    @Test("--device cuda:N places models without instance_group there, and refuses them without that GPU")
    func deviceFlag() async throws {
        let (server, _) = try await serve(["plain": nil], gpus: .count(1), device: .cuda(3))
        #expect(await reason(server, "plain")?.contains("asks for GPU 3, but this machine has no device 3") == true)
    }
}
