import ArgumentParser
import FerryCore
import FerryImage

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct PushModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push-model",
        abstract: "Push one model of a repository to a registry as an OCI model artifact, for ferry serve oci://….",
        discussion: """
            The artifact is an OCI image manifest with the CNCF ModelPack artifactType: one uncompressed layer per file of the \
            model directory (config.pbtxt, the version directories with their model files and conversion reports, warmup \
            data), each named by its path. Prints the manifest digest and the oci:// reference to serve, pinned by digest. \
            Registries and credentials as for ferry push.
            """
    )

    @Argument(help: ArgumentHelp("The model's directory in a repository (REPOSITORY/NAME), or one .onnx file (served as NAME, version 1).", valueName: "model"))
    var model: String

    @Argument(help: ArgumentHelp("Where to: REGISTRY/REPOSITORY[:TAG].", valueName: "destination"))
    var destination: String

    @Option(help: "Push only this version directory (default: every version).")
    var version: Int64?

    @OptionGroup var registry: RegistryOptions

    func validate() throws {
        if let version, version < 1 { throw ValidationError("--version must be 1 or more") }
    }

    func run() async throws {
        try await reportingFailures {
            let reference = try ImageReference(parsing: destination)
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-push-model-\(RandomIdentifier.uuid())")
            defer { try? FileManager.default.removeItem(at: scratch) }
            let layout = try OCILayout(root: scratch)
            let packed = try ModelArtifact.pack(modelDirectory: model, version: version, into: layout)
            StandardStreams.writeError(
                "ferry push-model: \(packed.name): \(packed.files.count) files, \(packed.bytes) bytes (\(packed.files.joined(separator: ", ")))\n")
            try await registry.push(packed.manifest, from: layout, to: reference, credentials: registry.credentials(for: reference.registry))
            var pinned = reference
            pinned.tag = nil
            pinned.digest = packed.manifest.digest
            writeStandardOutput(Data("\(ModelArtifactCache.scheme)\(pinned)".utf8))
        }
    }
}
