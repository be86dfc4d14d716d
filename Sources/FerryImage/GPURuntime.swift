import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The GPU part of an image (`ferry build --gpu`): ONNX Runtime's provider
/// libraries, which it loads from its own directory, and the CUDA and cuDNN
/// libraries beside them (as `scripts/install-onnxruntime --gpu` lays them
/// out). Every `DT_NEEDED` of every packed library is met by another packed
/// one, the base, a system library added to the base, or the driver.
package struct GPURuntime {
    /// The driver's libraries: the NVIDIA container toolkit mounts the host's
    /// into the container, matched to its kernel module, so an image never
    /// carries them.
    static let driverLibraries: Set<String> = ["libcuda.so.1", "libnvidia-ml.so.1", "libnvidia-ptxjitcompiler.so.1"]
    static let requiredProviders = ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"]
    static let tensorRTProvider = "libonnxruntime_providers_tensorrt.so"

    /// Beside `libonnxruntime.so` in the runtime layer.
    package var providers: [URL] = []
    /// The CUDA layer.
    package var cudaLibraries: [URL] = []
    /// System libraries (name → path on this machine) the CUDA libraries need beyond ferry's.
    package var systemLibraries: [String: String] = [:]
    package var notes: [String] = []

    /// `baseHas` says whether the base image has a library by name (never for
    /// scratch); `packed` are the libraries already going in for ferry and
    /// ONNX Runtime, by name.
    package static func plan(onnxRuntime: URL, baseHas: (String) -> Bool, packed: [String: String]) throws(FerryError) -> GPURuntime {
        let library = onnxRuntime.resolvingSymlinksInPath()
        let directory = library.deletingLastPathComponent()
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else {
            throw FerryError(.notFound, "cannot read '\(directory.path)'")
        }
        let files = Dictionary(
            uniqueKeysWithValues: names.filter { $0.contains(".so") && !$0.hasPrefix("libonnxruntime.so") }.sorted().map {
                ($0, directory.appendingPathComponent($0))
            })
        for provider in requiredProviders where files[provider] == nil {
            throw FerryError(
                .failedPrecondition,
                "--gpu needs ONNX Runtime's GPU build: \(directory.path) has no \(provider) beside \(library.lastPathComponent); install it with `scripts/install-onnxruntime --gpu` (or pass --onnxruntime-lib .deps/onnxruntime-gpu/lib/libonnxruntime.so)"
            )
        }
        var plan = GPURuntime()
        var chosen = requiredProviders
        if let tensorRT = files[tensorRTProvider] {
            let missing = try ELFFile(path: tensorRT.path).neededLibraries.filter {
                files[$0] == nil && !baseHas($0) && packed[$0] == nil && hostLibrary($0) == nil
            }
            if missing.isEmpty {
                chosen.append(tensorRTProvider)
            } else {
                plan.notes.append(
                    "left out the TensorRT provider: it needs \(missing.joined(separator: ", ")), which neither \(directory.path) nor the base has (TensorRT for CUDA 13 is not on PyPI; build --base on a TensorRT image to include it)"
                )
            }
        }
        plan.providers = chosen.compactMap { files[$0] }
        var fromBase: [String] = []
        for (name, url) in files.sorted(by: { $0.key < $1.key }) where !name.hasPrefix("libonnxruntime_providers_") {
            if baseHas(name) { fromBase.append(name) } else { plan.cudaLibraries.append(url) }
        }
        if !fromBase.isEmpty { plan.notes.append("the base has \(fromBase.joined(separator: ", ")): not packed again") }
        try plan.checkNeeded(packedNames: Set(files.keys).subtracting(fromBase), baseHas: baseHas, packed: packed)
        return plan
    }

    /// Fails the build on a `DT_NEEDED` that nothing in the image meets.
    private mutating func checkNeeded(packedNames: Set<String>, baseHas: (String) -> Bool, packed: [String: String]) throws(FerryError) {
        var driver = Set<String>()
        for file in providers + cudaLibraries {
            for name in try ELFFile(path: file.path).neededLibraries {
                if packedNames.contains(name) || packed[name] != nil || systemLibraries[name] != nil || baseHas(name) { continue }
                if Self.driverLibraries.contains(name) {
                    driver.insert(name)
                    continue
                }
                guard let path = Self.hostLibrary(name) else {
                    throw FerryError(
                        .failedPrecondition,
                        "\(file.lastPathComponent) needs \(name), which is neither beside it, in the base, nor installed on this machine")
                }
                systemLibraries[name] = path
                for (dependency, dependencyPath) in try RootFilesystem.resolvedLibraries(of: URL(fileURLWithPath: path))
                where packed[dependency] == nil && !baseHas(dependency) {
                    systemLibraries[dependency] = dependencyPath
                }
            }
        }
        if !driver.isEmpty {
            notes.append("\(driver.sorted().joined(separator: ", ")) left to the host: the NVIDIA container toolkit mounts the driver's")
        }
    }

    /// Where this machine's loader would find system library `name`.
    static func hostLibrary(_ name: String) -> String? {
        let directories = [
            "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64",
            "/usr/lib64", "/lib", "/usr/lib",
        ]
        return directories.map { "\($0)/\(name)" }.first { FileManager.default.fileExists(atPath: $0) }
    }
}
