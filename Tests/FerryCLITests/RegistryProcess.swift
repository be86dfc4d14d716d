import FerryCore
import Foundation
import Synchronization

/// A real `docker-registry` (distribution 2.8) on 127.0.0.1, on a port the
/// system picks, with its storage in a temporary folder; stopped by PID.
/// Anonymous, with htpasswd basic auth, or with bearer tokens from a `TokenServer`.
final class RegistryProcess: Sendable {
    let process: Process
    let directory: URL
    let address: String

    init(htpasswd: String? = nil, token: TokenServer? = nil) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-registry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var config = """
            version: 0.1
            log:
              level: info
            storage:
              filesystem:
                rootdirectory: \(directory.appendingPathComponent("storage").path)
            http:
              addr: 127.0.0.1:0

            """
        if let htpasswd {
            let file = directory.appendingPathComponent("htpasswd")
            try Data(htpasswd.utf8).write(to: file)
            config += "auth:\n  htpasswd:\n    realm: ferry-test\n    path: \(file.path)\n"
        }
        if let token {
            config += """
                auth:
                  token:
                    realm: \(token.realm)
                    service: \(TokenServer.service)
                    issuer: \(TokenServer.issuer)
                    rootcertbundle: \(token.certificate.path)

                """
        }
        let configFile = directory.appendingPathComponent("config.yml")
        try Data(config.utf8).write(to: configFile)
        let logFile = directory.appendingPathComponent("registry.log")
        FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["docker-registry", "serve", configFile.path]
        let log = try FileHandle(forWritingTo: logFile)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        var found: String?
        let deadline = ContinuousClock.now + .seconds(30)
        while found == nil && ContinuousClock.now < deadline {
            let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            if let range = text.range(of: #"listening on 127\.0\.0\.1:\d+"#, options: .regularExpression) {
                found = String(text[range].dropFirst("listening on ".count))
            } else {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        guard let found else {
            kill(process.processIdentifier, SIGKILL)
            throw FerryError(.unavailable, "docker-registry did not start: \((try? String(contentsOf: logFile, encoding: .utf8)) ?? "")")
        }
        address = found
    }

    /// Where the registry keeps `repository`'s unfinished uploads.
    func uploads(of repository: String) -> URL {
        directory.appendingPathComponent("storage/docker/registry/v2/repositories/\(repository)/_uploads")
    }

    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }
}
