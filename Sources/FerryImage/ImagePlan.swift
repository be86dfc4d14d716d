import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An image before it is written: the files of each new layer and the
/// configuration. `ImageBuilder` writes it as an OCI image, `DockerfileWriter`
/// as a Dockerfile and its build context.
public struct ImagePlan: Sendable {
    public struct PlannedLayer: Sendable {
        /// `base`, `runtime`, `model NAME`: the layer's title annotation.
        public var title: String
        public var entries: [TarEntry]
        public var gzip: Bool
    }

    public static let executablePath = "usr/local/bin/ferry"
    public static let onnxRuntimeDirectory = "usr/local/lib"
    public static let workingDirectory = "home/nonroot"

    public var base: ImageRecipe.Base
    /// The layers Ferry writes, after the base image's if there is one.
    public var layers: [PlannedLayer]
    public var configuration: ImageConfiguration.Config
    /// RFC 3339, from `SOURCE_DATE_EPOCH`.
    public var created: String
    public var architecture: String
    /// What planning decided that a user should know (shown as build steps).
    public var notes: [String]
    private let packed: PackedExecutable

    /// Removes the temporary copy of `ferry` once the image is written.
    public func cleanup() { packed.remove() }

    /// Plans `recipe`; a pulled base image must be in `layout` already (its
    /// files decide which libraries the runtime layer brings along).
    public static func make(_ recipe: ImageRecipe, layout: OCILayout) throws(FerryError) -> ImagePlan {
        let models = try ModelSource.list(recipe.repository, including: recipe.models)
        let onnxRuntime = recipe.onnxRuntime.resolvingSymlinksInPath()
        let onnxRuntimePath = "\(onnxRuntimeDirectory)/\(recipe.onnxRuntime.lastPathComponent)"
        let packed = try PackedExecutable.prepare(recipe.executable.resolvingSymlinksInPath(), strip: recipe.strip)
        do {
            var notes: [String] = []
            if recipe.strip { notes.append("stripped \(recipe.executable.lastPathComponent) of symbols and debug info") }
            if !packed.leftOut.isEmpty {
                notes.append(
                    "left out \(packed.leftOut.joined(separator: ", ")): \(recipe.executable.lastPathComponent) uses none of their symbols")
            }
            var runtime = [
                TarEntry(path: executablePath, content: .file(packed.url), mode: 0o755),
                TarEntry(path: onnxRuntimePath, content: .file(onnxRuntime), mode: 0o755),
            ]
            // What the loader maps for ferry and for ONNX Runtime (dlopened, so ldd of ferry cannot see it), by name.
            var libraries = packed.libraries.merging(try RootFilesystem.resolvedLibraries(of: onnxRuntime)) { first, _ in first }
            var baseContents: BaseImageContents?
            if case .image(let pulled) = recipe.base { baseContents = try BaseImageContents(layers: pulled.layers, in: layout) }
            var gpu: GPURuntime?
            if recipe.gpu {
                let contents = baseContents
                let plan = try GPURuntime.plan(
                    onnxRuntime: recipe.onnxRuntime,
                    baseHas: { name in contents?.hasLibrary(named: name, at: "usr/local/cuda/lib64/\(name)") ?? false },
                    packed: libraries)
                libraries.merge(plan.systemLibraries) { first, _ in first }
                for provider in plan.providers {
                    runtime.append(TarEntry(path: "\(onnxRuntimeDirectory)/\(provider.lastPathComponent)", content: .file(provider), mode: 0o755))
                }
                notes += plan.notes
                gpu = plan
            }
            var layers: [PlannedLayer] = []
            var environment = [
                "PATH=/usr/local/bin:/usr/bin:/bin",
                "FERRY_ONNXRUNTIME_LIB=/\(onnxRuntimePath)",
                // The image's root may be read-only (Kubernetes): jobs live in /tmp unless a volume is named.
                "FERRY_JOB_STORE=/tmp/ferry/jobs.sqlite",
                "FERRY_LOG_FORMAT=json",
            ]
            var labels: [String: String] = [:]
            switch recipe.base {
            case .scratch:
                let base = RootFilesystem.entries(libraries: Set(libraries.values))
                layers.append(PlannedLayer(title: "base", entries: base, gzip: recipe.compression != .none))
            case .image(let pulled):
                let contents = baseContents!
                let (entries, added) = missingLibraries(libraries, in: contents)
                runtime += entries
                if !added.isEmpty {
                    notes.append(
                        "\(pulled.reference) lacks \(added.map { $0.split(separator: "/").last! }.joined(separator: ", ")): added to the runtime layer"
                    )
                    let directories = Array(Set(added.map { "/" + $0.split(separator: "/").dropLast().joined(separator: "/") })).sorted()
                    environment.append("LD_LIBRARY_PATH=\(directories.joined(separator: ":"))")
                }
                if contents.resolve("tmp") != .directory { runtime.append(TarEntry(path: "tmp", content: .directory, mode: 0o1777)) }
                if contents.resolve(workingDirectory) != .directory {
                    runtime.append(TarEntry(path: workingDirectory, content: .directory))
                }
                let config = pulled.configuration.config
                // The base's PATH and other variables stay unless Ferry sets them.
                let ours = Set(environment.map { $0.prefix { $0 != "=" } })
                environment = (config?.Env ?? []).filter { !ours.contains($0.prefix { $0 != "=" }) } + environment
                if let path = config?.Env?.first(where: { $0.hasPrefix("PATH=") }) {
                    environment.removeAll { $0.hasPrefix("PATH=") }
                    environment.insert(path.contains("/usr/local/bin") ? path : "PATH=/usr/local/bin:" + path.dropFirst(5), at: 0)
                }
                labels = config?.Labels ?? [:]
            }
            if let gpu {
                // Its own layer, below the runtime: 2 GB that changes only with CUDA, shared by every GPU image.
                let entries = gpu.cudaLibraries.map { library in
                    TarEntry(path: "\(onnxRuntimeDirectory)/\(library.lastPathComponent)", content: .file(library), mode: 0o755)
                }
                layers.append(
                    PlannedLayer(title: "cuda", entries: RootFilesystem.withParentDirectories(entries), gzip: recipe.compression != .none))
                environment = Self.gpuEnvironment(environment)
                labels["dev.ferry.accelerator"] = "cuda"
            }
            layers.append(
                PlannedLayer(title: "runtime", entries: RootFilesystem.withParentDirectories(runtime), gzip: recipe.compression != .none))
            if recipe.compression == .automatic && !models.isEmpty {
                notes.append(
                    "model layers stored uncompressed: weights barely compress and gzip runs at ~20 MB/s (--compression gzip compresses them)"
                )
            }
            for model in models {
                layers.append(
                    PlannedLayer(
                        title: "model \(model.name)", entries: RootFilesystem.withParentDirectories(model.entries),
                        gzip: recipe.compression == .gzip))
            }

            let created = Date(timeIntervalSince1970: TimeInterval(recipe.sourceDateEpoch)).formatted(.iso8601)
            labels.merge(SourceRevision.labels(of: recipe.repository)) { $1 }
            labels[ImageAnnotation.created] = created
            labels["dev.ferry.models"] = models.map(\.name).joined(separator: ",")
            for model in models {
                labels["dev.ferry.model.\(model.name).versions"] = model.versions.joined(separator: ",")
                for conversion in model.conversions {
                    labels["dev.ferry.model.\(model.name).\(conversion.version).conversion"] = conversion.digest.description
                    labels["dev.ferry.model.\(model.name).\(conversion.version).verdict"] = conversion.verdict
                }
            }
            labels.merge(recipe.labels) { $1 }
            environment += recipe.environment

            var entrypoint = ["/\(executablePath)", "serve", "/models", "--host", "0.0.0.0"]
            let defaults = ServerPorts()
            if recipe.ports.http != defaults.http { entrypoint += ["--http-port", String(recipe.ports.http)] }
            if recipe.ports.grpc != defaults.grpc { entrypoint += ["--grpc-port", String(recipe.ports.grpc)] }
            if recipe.ports.metrics != defaults.metrics { entrypoint += ["--metrics-port", String(recipe.ports.metrics)] }
            let configuration = ImageConfiguration.Config(
                User: "\(RootFilesystem.user):\(RootFilesystem.user)",
                ExposedPorts: Dictionary(uniqueKeysWithValues: recipe.ports.all.map { ("\($0)/tcp", [:]) }),
                Env: environment,
                Entrypoint: entrypoint,
                WorkingDir: "/" + workingDirectory,
                Labels: labels
            )
            return ImagePlan(
                base: recipe.base, layers: layers, configuration: configuration, created: created,
                architecture: Platform.current.architecture, notes: notes, packed: packed)
        } catch {
            packed.remove()
            throw error
        }
    }

    /// What the NVIDIA container toolkit reads (every GPU, the compute and
    /// NVML libraries of the driver), models without instance_group on a GPU
    /// when there is one, and the loader path: the packed CUDA libraries, a
    /// CUDA base image's, then where older device plugins mount the driver.
    private static func gpuEnvironment(_ environment: [String]) -> [String] {
        var result = environment.filter {
            !["NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES", "FERRY_DEVICE", "LD_LIBRARY_PATH"].contains($0.prefix { $0 != "=" })
        }
        let existing = environment.first { $0.hasPrefix("LD_LIBRARY_PATH=") }.map { $0.dropFirst(16).split(separator: ":").map(String.init) } ?? []
        var path: [String] = []
        for directory in ["/\(onnxRuntimeDirectory)"] + existing + ["/usr/local/cuda/lib64", "/usr/local/nvidia/lib64"]
        where !path.contains(directory) {
            path.append(directory)
        }
        result += [
            "NVIDIA_VISIBLE_DEVICES=all", "NVIDIA_DRIVER_CAPABILITIES=compute,utility", "FERRY_DEVICE=auto",
            "LD_LIBRARY_PATH=\(path.joined(separator: ":"))",
        ]
        return result
    }

    /// Entries for the `libraries` (name → path) that `contents` lacks, at
    /// the paths they have here, and those paths.
    private static func missingLibraries(_ libraries: [String: String], in contents: BaseImageContents) -> ([TarEntry], [String]) {
        var added = Set<String>()
        for (name, path) in libraries where !name.hasPrefix("/") {
            if !contents.hasLibrary(named: name, at: path) { added.insert(path) }
        }
        // The loader is found by its absolute path (PT_INTERP), never by search.
        for (name, path) in libraries where name.hasPrefix("/") && contents.resolve(name) != .file { added.insert(path) }
        let paths = added.sorted()
        let entries = paths.map { path in
            TarEntry(path: path, content: .file(URL(fileURLWithPath: path).resolvingSymlinksInPath()), mode: 0o755)
        }
        return (entries, paths.map { String($0.drop { $0 == "/" }) })
    }
}
