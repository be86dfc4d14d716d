import ArgumentParser
import FerryCore
import FerryImage
import FerryONNXRuntime

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build an OCI image of a model repository with ferry and ONNX Runtime, without a container engine.",
        discussion: """
            Layers: base (by default the dynamic loader and the shared libraries ferry and ONNX Runtime need, a \
            non-root user 65532, /tmp, CA certificates; or --base IMAGE from a registry, kept as it is), runtime \
            (ferry, libonnxruntime.so; with --gpu its CUDA provider too, after a cuda layer of the CUDA and cuDNN libraries) \
            and one per model, each deterministic: building twice gives the same digest. \
            The image runs `ferry serve /models --host 0.0.0.0`. Defaults come from ferry.yaml next to the repository.
            """
    )

    @Argument(
        help: ArgumentHelp(
            "The model repository (NAME/VERSION/model.onnx, config.pbtxt optional), or one .onnx file.", valueName: "repository"))
    var repository: String

    @Option(
        help: ArgumentHelp(
            "Where to write the image: oci:DIR[:TAG] (an OCI image layout) or docker-archive:FILE.tar[:NAME:TAG].", valueName: "target"))
    var output: String?

    @Option(
        help: ArgumentHelp(
            "Also (or only) push the image to REGISTRY/REPOSITORY[:TAG] (default: image.name in ferry.yaml).", valueName: "reference"))
    var push: String?

    @Option(
        help: ArgumentHelp("Write a Dockerfile and its build context into DIR instead (for docker, podman or buildah).", valueName: "dir"))
    var dockerfile: String?

    @Option(
        help: ArgumentHelp(
            "scratch (Ferry's minimal root filesystem) or a base image REGISTRY/REPOSITORY[:TAG|@DIGEST].", valueName: "image"))
    var base: String?

    @Option(name: .customLong("model"), help: ArgumentHelp("Include only this model of the repository (repeatable).", valueName: "name"))
    var models: [String] = []

    @Option(help: ArgumentHelp("gzip, none, or automatic (code compressed, model weights stored as they are).", valueName: "mode"))
    var compression: LayerCompression?

    @Option(help: ArgumentHelp("The project file (default: ferry.yaml next to the repository, if there is one).", valueName: "path"))
    var config: String?

    @Option(help: ArgumentHelp("The ferry executable to put in the image (default: this one).", valueName: "path"))
    var executable: String?

    @Option(
        name: .customLong("onnxruntime-lib"),
        help: ArgumentHelp("libonnxruntime.so to put in the image (default: the one ferry serve would load).", valueName: "path"))
    var onnxRuntimeLibrary: String?

    @Option(name: .customLong("label"), help: ArgumentHelp("An image label KEY=VALUE (repeatable).", valueName: "key=value"))
    var labels: [String] = []

    @Option(
        name: .customLong("env"),
        help: ArgumentHelp("An environment variable KEY=VALUE for the server (repeatable).", valueName: "key=value"))
    var environment: [String] = []

    @Flag(
        help: ArgumentHelp(
            "Pack ONNX Runtime's GPU build with its CUDA provider and the CUDA and cuDNN libraries beside it (default: .deps/onnxruntime-gpu/lib from scripts/install-onnxruntime --gpu); the image runs models on the GPUs the NVIDIA container toolkit gives it, on the CPU without."
        ))
    var gpu = false

    @Flag(help: "Pack ferry with its symbols and debug info (by default a stripped copy goes in).")
    var noStrip = false

    @OptionGroup(title: "Registry") var registry: RegistryOptions

    func validate() throws {
        _ = try target()
        for pair in labels + environment where !pair.contains("=") {
            throw ValidationError("'\(pair)' is not KEY=VALUE")
        }
    }

    enum Target {
        case layout(directory: String, tag: String)
        /// A `docker load` tar, built through a temporary layout.
        case dockerArchive(file: String, name: String)
    }

    func target() throws -> Target? {
        guard let output else { return nil }
        if output.hasPrefix("oci:") {
            let parts = output.dropFirst(4).split(separator: ":", maxSplits: 1)
            guard let directory = parts.first, !directory.isEmpty else { throw ValidationError("--output oci: needs a directory") }
            return .layout(directory: String(directory), tag: parts.count > 1 ? String(parts[1]) : "latest")
        }
        if output.hasPrefix("docker-archive:") {
            let parts = output.dropFirst("docker-archive:".count).split(separator: ":", maxSplits: 1)
            guard let file = parts.first, !file.isEmpty else { throw ValidationError("--output docker-archive: needs a file") }
            let name = parts.count > 1 ? String(parts[1]) : "ferry:latest"
            return .dockerArchive(file: String(file), name: name.contains(":") ? name : name + ":latest")
        }
        throw ValidationError("--output must be oci:DIR[:TAG] or docker-archive:FILE.tar[:NAME:TAG], not '\(output)'")
    }

    func run() async throws {
        try await reportingFailures {
            let progress = ProgressDisplay(prefix: "ferry build: ")
            let project = try ProjectFile.find(nextTo: repository, explicit: config)
            let settings = try project.map(ImageSettings.init) ?? ImageSettings()
            let target = try target()
            let pushTo = try (push.map(ImageReference.init(parsing:)) ?? (target == nil && dockerfile == nil ? settings.name : nil))
            guard target != nil || pushTo != nil || dockerfile != nil else {
                throw FerryError(
                    .invalidArgument,
                    "say where the image goes: --output oci:DIR, --output docker-archive:FILE, --push REFERENCE or --dockerfile DIR (or image.name in ferry.yaml)"
                )
            }
            if case .dockerArchive = target, compression == .gzip {
                throw FerryError(.invalidArgument, "a docker archive holds plain layers; drop --compression gzip")
            }
            let baseName = base ?? settings.base ?? "scratch"
            let baseReference = baseName == "scratch" ? nil : try ImageReference(parsing: baseName)
            // --username names an account on the registry pushed to, or else on the base image's.
            let credentials = registry.credentials(for: pushTo?.registry ?? baseReference?.registry)

            // A docker archive, a push alone and a Dockerfile are built through a temporary layout.
            var temporary: URL?
            defer { if let temporary { try? FileManager.default.removeItem(at: temporary) } }
            let layout: OCILayout
            if case .layout(let directory, _) = target {
                layout = try OCILayout(root: URL(fileURLWithPath: directory))
            } else {
                temporary = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-build-\(RandomIdentifier.uuid())")
                layout = try OCILayout(root: temporary!)
            }

            var recipe = ImageRecipe(
                executable: URL(fileURLWithPath: executable ?? Self.runningExecutable()),
                onnxRuntime: URL(fileURLWithPath: try Self.onnxRuntime(explicit: onnxRuntimeLibrary, gpu: gpu)),
                repository: URL(fileURLWithPath: repository))
            recipe.models = models.isEmpty ? settings.models : models
            recipe.compression = compression ?? settings.compression ?? .automatic
            if case .dockerArchive = target { recipe.compression = .none }
            recipe.ports = settings.ports
            recipe.sourceDateEpoch = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"].flatMap { Int($0) } ?? 0
            recipe.labels = settings.labels.merging(labels.map(Self.pair)) { $1 }
            recipe.environment = settings.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + environment
            recipe.strip = !noStrip
            recipe.gpu = gpu
            if let reference = baseReference {
                let client = registry.client(for: reference.registry, credentials: credentials, progress: progress)
                do {
                    recipe.base = .image(try await client.pull(reference, into: layout))
                } catch {
                    await client.shutdown()
                    throw error
                }
                await client.shutdown()
            }

            let plan = try ImagePlan.make(recipe, layout: layout)
            defer { plan.cleanup() }
            for note in plan.notes { progress.message(note) }
            if let dockerfile {
                let written = try DockerfileWriter.write(plan, to: URL(fileURLWithPath: dockerfile))
                writeStandardOutput(Data("\(written.path)  (docker build -t NAME \(dockerfile))".utf8))
                if target == nil && pushTo == nil { return }
            }

            let image = try ImageBuilder(layout: layout).write(plan, sourceDateEpoch: recipe.sourceDateEpoch, progress: progress)
            var lines: [String] = []
            switch target {
            case .layout(let directory, let tag):
                try layout.tag(image.manifest, as: tag)
                lines.append("\(image.manifest.digest)  oci:\(directory):\(tag)")
            case .dockerArchive(let file, let name):
                try DockerArchive.write(image, from: layout, name: name, to: URL(fileURLWithPath: file))
                lines.append("\(image.manifest.digest)  docker-archive:\(file):\(name)")
            case nil:
                lines.append("\(image.manifest.digest)")
            }
            let baseCount = image.layers.filter { !$0.built }.count
            var baseIndex = 0
            for layer in image.layers {
                var title = layer.title
                if !layer.built {
                    baseIndex += 1
                    title = "base \(baseIndex)/\(baseCount) (\(recipe.baseName))"
                }
                lines.append("  \(layer.digest)  \(Self.megabytes(layer.size))  \(layer.gzipped ? "gzip" : "tar ")  \(title)")
            }
            lines.append("  total \(Self.megabytes(image.layers.reduce(0) { $0 + $1.size }))")
            writeStandardOutput(Data(lines.joined(separator: "\n").utf8))
            if let pushTo { try await registry.push(image.manifest, from: layout, to: pushTo, credentials: credentials) }
        }
    }

    static func pair(_ text: String) -> (String, String) {
        let parts = text.split(separator: "=", maxSplits: 1)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
    }

    static func megabytes(_ bytes: Int) -> String {
        let text = (Double(bytes) / 1e6).fixed(2)
        return String(repeating: " ", count: max(0, 8 - text.count)) + text + " MB"
    }

    static func runningExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// The library `ferry serve` would load: the first candidate that exists.
    static func onnxRuntime(explicit: String?, gpu: Bool) throws(FerryError) -> String {
        var locator = ONNXRuntimeLibraryLocator(explicitPath: explicit)
        locator.gpuBuild = gpu
        let candidates = locator.candidates()
        guard let found = candidates.first(where: { $0.path.contains("/") && FileManager.default.fileExists(atPath: $0.path) }) else {
            let install = gpu ? "scripts/install-onnxruntime --gpu" : "scripts/install-onnxruntime"
            throw FerryError(.notFound, "no libonnxruntime.so found to put in the image (run \(install) or pass --onnxruntime-lib)")
        }
        return found.path
    }
}

extension ImageRecipe {
    fileprivate var baseName: String {
        if case .image(let pulled) = base { return pulled.reference.description }
        return "scratch"
    }
}

extension LayerCompression: ExpressibleByArgument {}
