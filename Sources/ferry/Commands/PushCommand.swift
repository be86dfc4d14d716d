import ArgumentParser
import FerryCore
import FerryImage

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Push an image from an OCI layout to a registry; blobs the registry has are not sent again.",
        discussion: """
            Loopback registries (localhost, 127.0.0.1) are spoken to over plain HTTP; others over HTTPS unless --insecure. \
            Credentials: --username with --password-stdin, or the registry's entry in Docker's config.json; registries \
            that answer with a Bearer challenge (Docker Hub, GHCR, Harbor, Quay, ECR) get a token from their token service.
            """
    )

    @Argument(help: ArgumentHelp("The image: oci:DIR[:TAG], as ferry build --output wrote it.", valueName: "source"))
    var source: String

    @Argument(help: ArgumentHelp("Where to: REGISTRY/REPOSITORY[:TAG|@DIGEST].", valueName: "destination"))
    var destination: String

    @OptionGroup var registry: RegistryOptions

    func run() async throws {
        try await reportingFailures {
            guard source.hasPrefix("oci:") else { throw FerryError(.invalidArgument, "the source must be oci:DIR[:TAG], not '\(source)'") }
            let parts = source.dropFirst(4).split(separator: ":", maxSplits: 1)
            let layout = try OCILayout(root: URL(fileURLWithPath: String(parts.first ?? "")), create: false)
            let (manifest, _) = try layout.manifest(tagged: parts.count > 1 ? String(parts[1]) : nil)
            let reference = try ImageReference(parsing: destination)
            try await registry.push(manifest, from: layout, to: reference, credentials: registry.credentials(for: reference.registry))
        }
    }
}
