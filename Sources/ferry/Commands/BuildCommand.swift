import ArgumentParser
import FerryCore
import FerryImage
import FerryONNXRuntime
import Foundation

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

    @Option(help: ArgumentHelp("Also push the image to REGISTRY/REPOSITORY[:TAG].", valueName: "reference"))
    var push: String?

    @OptionGroup(title: "Registry") var registry: RegistryOptions

    func validate() throws {
        _ = try target()
        for pair in labels + environment where !pair.contains("=") {
            throw ValidationError("'\(pair)' is not KEY=VALUE")
        }
    }

    func target() throws -> (directory: String, tag: String) {
        guard output.hasPrefix("oci:") else {
            throw ValidationError("--output must be oci:DIR[:TAG], not '\(output)'")
        }
        let rest = output.dropFirst(4)
        let parts = rest.split(separator: ":", maxSplits: 1)
        guard let directory = parts.first, !directory.isEmpty else { throw ValidationError("--output oci: needs a directory") }
        return (String(directory), parts.count > 1 ? String(parts[1]) : "latest")
    }

    func run() async throws {
        try await reportingFailures {
            let (directory, tag) = try target()
            let layout = try OCILayout(root: URL(fileURLWithPath: directory))
            let recipe = ImageRecipe(
                executable: URL(fileURLWithPath: executable ?? Self.runningExecutable()),
                onnxRuntime: URL(fileURLWithPath: try Self.onnxRuntime(explicit: onnxRuntimeLibrary)),
                repository: URL(fileURLWithPath: repository),
                compression: compression,
                sourceDateEpoch: ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"].flatMap { Int($0) } ?? 0,
                labels: Dictionary(labels.map(Self.pair), uniquingKeysWith: { $1 }),
                environment: environment
            )
            let image = try ImageBuilder(layout: layout).build(recipe) { step in
                FileHandle.standardError.write(Data("ferry build: \(step)\n".utf8))
            }
            try layout.tag(image.manifest, as: tag)
            var lines = ["\(image.manifest.digest)  oci:\(directory):\(tag)"]
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

    static func megabytes(_ bytes: Int) -> String { String(format: "%8.2f MB", Double(bytes) / 1e6) }

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
