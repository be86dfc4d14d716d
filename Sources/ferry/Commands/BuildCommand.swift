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
            Layers: base (the dynamic loader and the shared libraries ferry and ONNX Runtime need, a non-root \
            user 65532, /tmp, CA certificates), runtime (ferry, libonnxruntime.so) and one per model, each \
            deterministic: building twice gives the same digest. The image runs `ferry serve /models --host 0.0.0.0`.
            """
    )

    @Argument(help: ArgumentHelp("The model repository (NAME/VERSION/model.onnx, config.pbtxt optional).", valueName: "repository"))
    var repository: String

    @Option(
        help: ArgumentHelp("Where to write the image: oci:DIR[:TAG] (an OCI image layout; TAG defaults to latest).", valueName: "target"))
    var output: String

    @Option(help: ArgumentHelp("gzip, none, or automatic (code compressed, model weights stored as they are).", valueName: "mode"))
    var compression: LayerCompression = .automatic

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

    @Flag(help: "Pack ferry with its symbols and debug info (by default a stripped copy goes in).")
    var noStrip = false

    @Option(help: ArgumentHelp("Also push the image to REGISTRY/REPOSITORY[:TAG].", valueName: "reference"))
    var push: String?

    @OptionGroup(title: "Registry") var registry: RegistryOptions

    func validate() throws {
        _ = try target()
        for pair in labels + environment where !pair.contains("=") {
            throw ValidationError("'\(pair)' is not KEY=VALUE")
        }
    }

    enum Target {
        case layout(directory: String, tag: String)
        /// A `docker load` tar, built through a temporary layout with plain layers.
        case dockerArchive(file: String, name: String)
    }

    func target() throws -> Target {
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
            let target = try target()
            var temporary: URL?
            defer { if let temporary { try? FileManager.default.removeItem(at: temporary) } }
            let layout: OCILayout
            switch target {
            case .layout(let directory, _):
                layout = try OCILayout(root: URL(fileURLWithPath: directory))
            case .dockerArchive:
                temporary = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-build-\(RandomIdentifier.uuid())")
                layout = try OCILayout(root: temporary!)
            }
            if case .dockerArchive = target, compression == .gzip {
                throw FerryError(.invalidArgument, "a docker archive holds plain layers; drop --compression gzip")
            }
            let recipe = ImageRecipe(
                executable: URL(fileURLWithPath: executable ?? Self.runningExecutable()),
                onnxRuntime: URL(fileURLWithPath: try Self.onnxRuntime(explicit: onnxRuntimeLibrary)),
                repository: URL(fileURLWithPath: repository),
                compression: { if case .dockerArchive = target { .none } else { compression } }(),
                sourceDateEpoch: ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"].flatMap { Int($0) } ?? 0,
                labels: Dictionary(labels.map(Self.pair), uniquingKeysWith: { $1 }),
                environment: environment,
                strip: !noStrip
            )
            let image = try ImageBuilder(layout: layout).build(recipe) { step in
                StandardStreams.writeError("ferry build: \(step)\n")
            }
            var lines: [String]
            switch target {
            case .layout(let directory, let tag):
                try layout.tag(image.manifest, as: tag)
                lines = ["\(image.manifest.digest)  oci:\(directory):\(tag)"]
            case .dockerArchive(let file, let name):
                try DockerArchive.write(image, from: layout, name: name, to: URL(fileURLWithPath: file))
                lines = ["\(image.manifest.digest)  docker-archive:\(file):\(name)"]
            }
            for layer in image.layers {
                lines.append(
                    "  \(layer.digest)  \(Self.megabytes(layer.size))  \(layer.gzipped ? "gzip" : "tar ")  \(layer.title)")
            }
            lines.append("  total \(Self.megabytes(image.layers.reduce(0) { $0 + $1.size }))")
            writeStandardOutput(Data(lines.joined(separator: "\n").utf8))
            if let push { try await registry.push(image.manifest, from: layout, to: try ImageReference(parsing: push)) }
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
    static func onnxRuntime(explicit: String?) throws(FerryError) -> String {
        let candidates = ONNXRuntimeLibraryLocator(explicitPath: explicit).candidates()
        guard let found = candidates.first(where: { $0.path.contains("/") && FileManager.default.fileExists(atPath: $0.path) }) else {
            throw FerryError(
                .notFound, "no libonnxruntime.so found to put in the image (run scripts/install-onnxruntime or pass --onnxruntime-lib)")
        }
        return found.path
    }
}

extension LayerCompression: ExpressibleByArgument {}
