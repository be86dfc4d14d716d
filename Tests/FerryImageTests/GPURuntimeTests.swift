import FerryCore
import FerryImage
import Foundation
import Testing

/// What `scripts/install-onnxruntime --gpu` installs (make test does).
private let gpuBuild = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent(".deps/onnxruntime-gpu/lib")

/// The planning behind `ferry build --gpu`, on the real GPU build's libraries
/// (the whole image is built and run in ContainerImageTests).
@Suite(
    "ferry build --gpu: which libraries go in",
    .enabled(if: FileManager.default.fileExists(atPath: gpuBuild.appendingPathComponent("libonnxruntime.so.1.31.1").path)))
struct GPURuntimeTests {
    let library = gpuBuild.appendingPathComponent("libonnxruntime.so")

    @Test("libraries a CUDA base image has are not packed again; the system libraries cuDNN needs are added")
    func baseHasSome() throws {
        let fromBase: Set<String> = ["libcudart.so.13", "libcudnn.so.9", "libcudnn_graph.so.9"]
        let plan = try GPURuntime.plan(onnxRuntime: library, baseHas: { fromBase.contains($0) }, packed: [:])
        let packed = Set(plan.cudaLibraries.map(\.lastPathComponent))
        #expect(packed.isDisjoint(with: fromBase))
        #expect(packed.isSuperset(of: ["libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10", "libcudnn_ops.so.9", "libnvrtc.so.13"]))
        #expect(plan.providers.map(\.lastPathComponent) == ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"])
        #expect(plan.notes.contains("the base has libcudart.so.13, libcudnn.so.9, libcudnn_graph.so.9: not packed again"))
        #expect(plan.systemLibraries["libz.so.1"] != nil, "cuDNN needs zlib")
        #expect(plan.notes.contains { $0.hasPrefix("libcuda.so.1 left to the host") })
        #expect(plan.notes.contains { $0.hasPrefix("left out the TensorRT provider: it needs libnvinfer.so.10") })
    }

    @Test("a base with TensorRT keeps the TensorRT provider")
    func tensorRTFromBase() throws {
        let plan = try GPURuntime.plan(
            onnxRuntime: library, baseHas: { $0.hasPrefix("libnvinfer") || $0.hasPrefix("libnvonnxparser") }, packed: [:])
        #expect(plan.providers.map(\.lastPathComponent).contains("libonnxruntime_providers_tensorrt.so"))
        #expect(!plan.notes.contains { $0.contains("TensorRT") })
    }

    @Test("a CPU build, and a GPU build whose CUDA libraries are not beside it, are refused with what is missing")
    func refusals() throws {
        let work = gpuBuild.deletingLastPathComponent().appendingPathComponent("plan-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        // Hard links: a symbolic link would be followed back to the complete directory.
        try FileManager.default.linkItem(
            at: gpuBuild.appendingPathComponent("libonnxruntime.so.1.31.1"), to: work.appendingPathComponent("libonnxruntime.so.1.31.1"))
        let alone = #expect(throws: FerryError.self) {
            try GPURuntime.plan(onnxRuntime: work.appendingPathComponent("libonnxruntime.so.1.31.1"), baseHas: { _ in false }, packed: [:])
        }
        #expect(alone?.message.contains("--gpu needs ONNX Runtime's GPU build: ") == true, "\(alone?.message ?? "")")
        #expect(alone?.message.contains("has no libonnxruntime_providers_shared.so") == true, "\(alone?.message ?? "")")

        for provider in ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"] {
            try FileManager.default.linkItem(at: gpuBuild.appendingPathComponent(provider), to: work.appendingPathComponent(provider))
        }
        let unmet = #expect(throws: FerryError.self) {
            try GPURuntime.plan(onnxRuntime: work.appendingPathComponent("libonnxruntime.so.1.31.1"), baseHas: { _ in false }, packed: [:])
        }
        #expect(
            unmet?.message == "libonnxruntime_providers_cuda.so needs libcublasLt.so.13, which is neither beside it, in the base, nor installed on this machine")
    }
}
