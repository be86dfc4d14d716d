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
        discussion: "Loopback registries (localhost, 127.0.0.1) are spoken to over plain HTTP; others over HTTPS unless --insecure."
    )

    @Argument(help: ArgumentHelp("The image: oci:DIR[:TAG], as ferry build --output wrote it.", valueName: "source"))
    var source: String

    @Argument(help: ArgumentHelp("Where to: REGISTRY/REPOSITORY[:TAG].", valueName: "destination"))
    var destination: String

    @OptionGroup var registry: RegistryOptions

    func run() async throws {
        try await reportingFailures {
            guard source.hasPrefix("oci:") else { throw FerryError(.invalidArgument, "the source must be oci:DIR[:TAG], not '\(source)'") }
            let parts = source.dropFirst(4).split(separator: ":", maxSplits: 1)
            let layout = try OCILayout(root: URL(fileURLWithPath: String(parts.first ?? "")))
            let (manifest, _) = try layout.manifest(tagged: parts.count > 1 ? String(parts[1]) : nil)
            try await registry.push(manifest, from: layout, to: try ImageReference(parsing: destination))
        }
    }
}

/// Options for talking to a registry, shared by `push` and `build --push`.
struct RegistryOptions: ParsableArguments {
    @Flag(help: "Use plain HTTP for a registry that is not on loopback.")
    var insecure = false

    @Option(help: "User name for the registry.")
    var username: String?

    @Flag(help: "Read the password from standard input (with --username).")
    var passwordStdin = false

    @Option(help: "Blobs larger than this many bytes are uploaded in chunks of this size.")
    var chunkSize = 16 << 20

    func validate() throws {
        if passwordStdin && username == nil { throw ValidationError("--password-stdin needs --username") }
        guard chunkSize >= 1 << 16 else { throw ValidationError("--chunk-size must be at least 65536") }
    }

    /// --username (with --password-stdin), else the registry's entry in
    /// Docker's `config.json` (`auths`, as `docker login` writes it).
    func credentials(for registry: String) -> RegistryClient.Credentials? {
        guard let username else { return DockerConfig.credentials(for: registry) }
        var password = ""
        if passwordStdin {
            password = String(decoding: StandardStreams.readInput(), as: UTF8.self)
            while password.hasSuffix("\n") || password.hasSuffix("\r") { password.removeLast() }
        }
        return RegistryClient.Credentials(username: username, password: password)
    }

    func push(_ manifest: Descriptor, from layout: OCILayout, to reference: ImageReference) async throws(FerryError) {
        let client = RegistryClient(
            registry: reference.registry, insecure: insecure, credentials: credentials(for: reference.registry), chunkSize: chunkSize)
        do {
            let report = try await client.push(manifest, from: layout, to: reference) { line in
                StandardStreams.writeError("ferry push: \(line)\n")
            }
            await client.shutdown()
            writeStandardOutput(
                Data(
                    "\(manifest.digest)  \(reference)  (\(report.uploaded.count) blobs uploaded, \(report.uploadedBytes) bytes; \(report.skipped.count) already there)"
                        .utf8))
        } catch {
            await client.shutdown()
            throw error
        }
    }
}

/// Reads `auths` from Docker's client configuration: `$DOCKER_CONFIG/config.json`
/// or `~/.docker/config.json`. Credential helpers are not run.
enum DockerConfig {
    static func credentials(for registry: String) -> RegistryClient.Credentials? {
        let environment = ProcessInfo.processInfo.environment
        let directory =
            environment["DOCKER_CONFIG"] ?? ((environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path) + "/.docker")
        guard let data = FileManager.default.contents(atPath: directory + "/config.json"),
            case .object(let auths)? = (try? JSONParser.parse(data))?["auths"]
        else { return nil }
        let entry = auths[registry] ?? auths["https://\(registry)"] ?? auths["http://\(registry)"]
        guard let encoded = entry?["auth"]?.stringValue, let decoded = Data(base64Encoded: encoded),
            let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return RegistryClient.Credentials(username: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
    }
}
