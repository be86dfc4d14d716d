import ArgumentParser
import FerryCore
import FerryImage

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Options for talking to registries, shared by `push` and `build`.
struct RegistryOptions: ParsableArguments {
    @Flag(help: "Use plain HTTP for a registry that is not on loopback.")
    var insecure = false

    @Option(help: "User name for the registry pushed to (and for the base image's, when it is the same one).")
    var username: String?

    @Flag(help: "Read the password (or token) from standard input (with --username).")
    var passwordStdin = false

    @Option(help: "Blobs larger than this many bytes are uploaded in chunks of this size.")
    var chunkSize = 16 << 20

    func validate() throws {
        if passwordStdin && username == nil { throw ValidationError("--password-stdin needs --username") }
        guard chunkSize >= 1 << 16 else { throw ValidationError("--chunk-size must be at least 65536") }
    }

    /// Resolves credentials once (standard input can be read only once):
    /// --username with --password-stdin for `registry`, and Docker's
    /// `config.json` `auths` for every registry.
    func credentials(for registry: String?) -> Credentials {
        var password = ""
        if passwordStdin {
            password = String(decoding: StandardStreams.readInput(), as: UTF8.self)
            while password.hasSuffix("\n") || password.hasSuffix("\r") { password.removeLast() }
        }
        return Credentials(
            explicitRegistry: registry, explicit: username.map { RegistryClient.Credentials(username: $0, password: password) })
    }

    struct Credentials {
        var explicitRegistry: String?
        var explicit: RegistryClient.Credentials?

        func `for`(_ registry: String) -> RegistryClient.Credentials? {
            if let explicit, registry == explicitRegistry { return explicit }
            return DockerConfig.credentials(for: registry)
        }
    }

    func client(for registry: String, credentials: Credentials, progress: ProgressDisplay) -> RegistryClient {
        RegistryClient(
            registry: registry, insecure: insecure, credentials: credentials.for(registry), chunkSize: chunkSize, progress: progress)
    }

    /// Pushes and prints `DIGEST  REFERENCE  (what was sent)`.
    func push(
        _ manifest: Descriptor, from layout: OCILayout, to reference: ImageReference, credentials: Credentials
    ) async throws(FerryError) {
        let client = client(for: reference.registry, credentials: credentials, progress: ProgressDisplay(prefix: "ferry push: "))
        let report: RegistryClient.PushReport
        do {
            report = try await client.push(manifest, from: layout, to: reference)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
        var summary = "\(report.uploaded.count) blobs uploaded, \(report.uploadedBytes) bytes; \(report.skipped.count) already there"
        if !report.mounted.isEmpty { summary += "; \(report.mounted.count) mounted" }
        writeStandardOutput(Data("\(manifest.digest)  \(reference)  (\(summary))".utf8))
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
