import FerryCore
import FerryImage
import Foundation
import Testing

/// What `scripts/install-onnxruntime --gpu` installs.
private let gpuRuntimeLibrary = ".deps/onnxruntime-gpu/lib/libonnxruntime.so.1.31.1"

extension ContainerImageTests {
    /// `ferry build --gpu` with the GPU build of ONNX Runtime and the CUDA
    /// libraries `scripts/install-onnxruntime --gpu` installs (make test does).
    /// This machine has no GPU: the image is checked library by library, and
    /// run under runc, where its models fall back to the CPU.
    @Suite(
        "ferry build --gpu: ONNX Runtime's CUDA provider and the CUDA libraries",
        .enabled(if: FileManager.default.fileExists(atPath: gpuRuntimeLibrary), "scripts/install-onnxruntime --gpu not run"))
    struct GPUImageTests {

        @Test(
            "layers base, cuda, runtime, model; every DT_NEEDED of the GPU libraries is in the image or is the driver's; NVIDIA's variables are set; it serves on the CPU under runc"
        )
        func gpuImage() async throws {
            let layout = try ImageBuildTests.temporaryDirectory("gpu-image")
            defer { try? FileManager.default.removeItem(at: layout) }
            // Uncompressed: gzip of 2 GB of CUDA libraries takes minutes on 2 cores, and says nothing here.
            let result = try FerryProcess.run([
                "build", "examples/models", "--gpu", "--compression", "none", "--output", "oci:\(layout.path):test",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            let titles = result.stdout.split(separator: "\n").filter { $0.contains("sha256:") }.dropFirst().map {
                $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).joined(separator: " ")
            }
            #expect(titles == ["base", "cuda", "runtime", "model digits"])
            #expect(result.stderr.contains("left out the TensorRT provider: it needs libnvinfer.so.10"))
            #expect(result.stderr.contains("libcuda.so.1 left to the host"))

            let container = try await RuncContainer(image: "\(layout.path):test")
            defer { container.remove() }
            let bundle = container.work.appendingPathComponent("bundle")
            let rootfs = bundle.appendingPathComponent("rootfs")
            let config = try JSONParser.parse(Data(contentsOf: bundle.appendingPathComponent("config.json")))
            let environment = (config["process"]?["env"]?.arrayValue ?? []).compactMap(\.stringValue)
            #expect(environment.contains("NVIDIA_VISIBLE_DEVICES=all"))
            #expect(environment.contains("NVIDIA_DRIVER_CAPABILITIES=compute,utility"))
            #expect(environment.contains("FERRY_DEVICE=auto"))
            let searchPath = environment.first { $0.hasPrefix("LD_LIBRARY_PATH=") }?.dropFirst(16).split(separator: ":").map(String.init) ?? []
            #expect(searchPath.first == "/usr/local/lib")

            // The loader's view: LD_LIBRARY_PATH, then its default directories.
            let directories = searchPath + ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"]
            func inImage(_ name: String) -> Bool {
                directories.contains { FileManager.default.fileExists(atPath: rootfs.path + $0 + "/" + name) }
            }
            let libraries = try FileManager.default.contentsOfDirectory(atPath: rootfs.appendingPathComponent("usr/local/lib").path)
            for name in [
                "libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so", "libcudart.so.13", "libcublas.so.13",
                "libcublasLt.so.13", "libcurand.so.10", "libcufft.so.12", "libcudnn.so.9", "libcudnn_graph.so.9", "libnvrtc.so.13",
            ] {
                #expect(libraries.contains(name), "\(name) is packed")
            }
            #expect(!libraries.contains("libonnxruntime_providers_tensorrt.so"))
            #expect(!libraries.contains("libcuda.so.1"), "the driver comes from the host")
            var checked = 0
            for name in libraries.sorted() where name.contains(".so") {
                let elf = try ELFFile(path: rootfs.appendingPathComponent("usr/local/lib/\(name)").path)
                for needed in elf.neededLibraries where needed != "libcuda.so.1" {
                    #expect(inImage(needed), "\(name) needs \(needed), which the image lacks")
                    checked += 1
                }
            }
            #expect(checked > 100)

            try await container.waitUntilReady()
            try await container.expectDigitsInference()
            #expect(container.logText.contains("KIND_AUTO instances run on the CPU"))
            #expect(container.logText.contains("no NVIDIA driver"))
            #expect(try await container.terminate())
        }
    }
}
