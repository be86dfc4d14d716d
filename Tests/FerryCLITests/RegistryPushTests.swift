import FerryCore
import Foundation
import Testing

extension ContainerImageTests {
    /// `ferry push` against a real registry, read back
    /// with skopeo (the containers/image implementation podman and CRI-O use).
    @Suite("ferry push to a real registry")
    struct RegistryPushTests {
        @Test("push uploads every blob, skopeo reads the image back by the same digest, a second push uploads nothing")
        func pushAndReadBack() async throws {
            let registry = try await RegistryProcess()
            defer { registry.stop() }
            let image = try ImageBuildTests.sharedDigits()
            let destination = "\(registry.address)/ferry/digits:v1"

            let first = try FerryProcess.run(["push", "oci:\(image.layout.path):test", destination])
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stdout.hasPrefix("\(image.digest)  \(destination)  (4 blobs uploaded"), "\(first.stdout)")
            let again = try FerryProcess.run(["push", "oci:\(image.layout.path):test", destination])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.contains("(0 blobs uploaded, 0 bytes; 4 already there)"), "\(again.stdout)")

            let inspect = try Tool.run("skopeo", ["inspect", "--tls-verify=false", "docker://\(destination)"])
            #expect(inspect.status == 0, "\(inspect.stderr)")
            let document = try JSONParser.parse(inspect.stdout)
            #expect(document["Digest"] == .string(image.digest))
            #expect(document["Labels"]?["dev.ferry.models"] == .string("digits"))

            // Copied back out of the registry, the image still passes umoci's digest and diff_id checks.
            let copy = try ImageBuildTests.temporaryDirectory("copy")
            defer { try? FileManager.default.removeItem(at: copy) }
            let copied = try Tool.run(
                "skopeo", ["copy", "--src-tls-verify=false", "docker://\(destination)", "oci:\(copy.path)/layout:v1"])
            #expect(copied.status == 0, "\(copied.stderr)")
            let unpack = try Tool.run("umoci", ["unpack", "--image", "\(copy.path)/layout:v1", "\(copy.path)/bundle"])
            #expect(unpack.status == 0, "\(unpack.stderr)")
        }

        @Test("a bad reference is refused before any request; an unreachable registry is retried, then named")
        func errors() async throws {
            let registry = try await RegistryProcess()
            defer { registry.stop() }
            let image = try ImageBuildTests.sharedDigits()
            let badName = try FerryProcess.run(["push", "oci:\(image.layout.path):test", "\(registry.address)/Ferry/Upper:v1"])
            #expect(badName.status == 1)
            #expect(badName.stderr.contains("the repository must be lowercase"), "\(badName.stderr)")
            let noRegistry = try FerryProcess.run(["push", "oci:\(image.layout.path):test", "digits:v1"])
            #expect(noRegistry.stderr.contains("no registry"), "\(noRegistry.stderr)")
            let unreachable = try FerryProcess.run(["push", "oci:\(image.layout.path):test", "127.0.0.1:1/ferry/digits:v1"])
            #expect(unreachable.status == 1)
            // Connection failures are retried (1, 2, 4 s) before the error is final.
            #expect(unreachable.stderr.contains("retrying in 4 s"), "\(unreachable.stderr)")
            #expect(unreachable.stderr.contains("\nferry: cannot reach the registry 127.0.0.1:1"), "\(unreachable.stderr)")
        }
    }
}

extension ContainerImageTests {
    @Suite("ferry push with registry authentication")
    struct RegistryAuthTests {
        static var htpasswd: String {
            get throws {
                try String(
                    contentsOf: FerryProcess.repositoryRoot.appendingPathComponent("Tests/Fixtures/registry/htpasswd"), encoding: .utf8)
            }
        }

        @Test("basic auth: no or wrong credentials are refused with a clear message; --password-stdin and docker config.json work")
        func basicAuth() async throws {
            let registry = try await RegistryProcess(htpasswd: try Self.htpasswd)
            defer { registry.stop() }
            let image = try ImageBuildTests.sharedDigits()
            let source = "oci:\(image.layout.path):test"
            let destination = "\(registry.address)/ferry/digits:v1"
            let emptyConfig = try ImageBuildTests.temporaryDirectory("docker-config")
            defer { try? FileManager.default.removeItem(at: emptyConfig) }

            let anonymous = try FerryProcess.run(["push", source, destination], environment: ["DOCKER_CONFIG": emptyConfig.path])
            #expect(anonymous.status == 1)
            #expect(
                anonymous.stderr.contains("ferry: \(registry.address) needs credentials: pass --username and --password-stdin"),
                "\(anonymous.stderr)")

            let wrong = try FerryProcess.run(
                ["push", source, destination, "--username", "ferry", "--password-stdin"], stdin: Data("wrong\n".utf8),
                environment: ["DOCKER_CONFIG": emptyConfig.path])
            #expect(wrong.status == 1)
            #expect(wrong.stderr.contains("\(registry.address) refused the credentials of 'ferry'"), "\(wrong.stderr)")
            #expect(wrong.stderr.contains("401 Unauthorized (UNAUTHORIZED: authentication required)"), "\(wrong.stderr)")

            let right = try FerryProcess.run(
                ["push", source, destination, "--username", "ferry", "--password-stdin"], stdin: Data("s3cret\n".utf8),
                environment: ["DOCKER_CONFIG": emptyConfig.path])
            #expect(right.status == 0, "\(right.stderr)")
            #expect(right.stdout.contains("(4 blobs uploaded"), "\(right.stdout)")

            // As `docker login` leaves it: auths.REGISTRY.auth = base64(user:password).
            let auth = Data("ferry:s3cret".utf8).base64EncodedString()
            try Data(#"{"auths":{"\#(registry.address)":{"auth":"\#(auth)"}}}"#.utf8).write(
                to: emptyConfig.appendingPathComponent("config.json"))
            let fromConfig = try FerryProcess.run(["push", source, destination], environment: ["DOCKER_CONFIG": emptyConfig.path])
            #expect(fromConfig.status == 0, "\(fromConfig.stderr)")
            #expect(fromConfig.stdout.contains("(0 blobs uploaded, 0 bytes; 4 already there)"), "\(fromConfig.stdout)")
        }

        @Test("bearer tokens: the registry's challenge is answered with a token for the push scope; bad credentials are refused clearly")
        func bearerToken() async throws {
            let tokens = try await TokenServer(users: ["ferry": "s3cret"])
            defer { tokens.stop() }
            let registry = try await RegistryProcess(token: tokens)
            defer { registry.stop() }
            let image = try ImageBuildTests.sharedDigits()
            let source = "oci:\(image.layout.path):test"
            let destination = "\(registry.address)/ferry/digits:v1"
            let emptyConfig = try ImageBuildTests.temporaryDirectory("docker-config")
            defer { try? FileManager.default.removeItem(at: emptyConfig) }
            let environment = ["DOCKER_CONFIG": emptyConfig.path]

            let anonymous = try FerryProcess.run(["push", source, destination], environment: environment)
            #expect(anonymous.status == 1)
            #expect(anonymous.stderr.contains("token service refused an anonymous request"), "\(anonymous.stderr)")
            #expect(anonymous.stderr.contains("this token service gives no anonymous tokens"), "\(anonymous.stderr)")

            let wrong = try FerryProcess.run(
                ["push", source, destination, "--username", "ferry", "--password-stdin"], stdin: Data("wrong\n".utf8),
                environment: environment)
            #expect(wrong.status == 1)
            #expect(wrong.stderr.contains("token service refused the credentials of 'ferry'"), "\(wrong.stderr)")
            #expect(wrong.stderr.contains("UNAUTHORIZED: wrong password for ferry"), "\(wrong.stderr)")

            let right = try FerryProcess.run(
                ["push", source, destination, "--username", "ferry", "--password-stdin"], stdin: Data("s3cret\n".utf8),
                environment: environment)
            #expect(right.status == 0, "\(right.stderr)")
            #expect(right.stdout.hasPrefix("\(image.digest)  \(destination)  (4 blobs uploaded"), "\(right.stdout)")
            #expect(tokens.tokenRequests.contains { $0.user == "ferry" && $0.scopes == ["repository:ferry/digits:pull,push"] })

            // skopeo, a client written against the same spec, reads it back through the token service.
            let inspect = try Tool.run(
                "skopeo", ["inspect", "--tls-verify=false", "--creds", "ferry:s3cret", "docker://\(destination)"])
            #expect(inspect.status == 0, "\(inspect.stderr)")
            #expect(try JSONParser.parse(inspect.stdout)["Digest"] == .string(image.digest))
        }
    }
}

extension ContainerImageTests {
    @Suite("ferry push, interrupted")
    struct InterruptedPushTests {
        @Test("a push killed in the middle of a blob, run again, uploads only what is missing")
        func resume() async throws {
            let registry = try await RegistryProcess()
            defer { registry.stop() }
            let image = try ImageBuildTests.sharedDigits()
            let arguments = ["push", "oci:\(image.layout.path):test", "\(registry.address)/ferry/digits:v1", "--chunk-size", "65536"]

            let process = Process()
            process.executableURL = FerryProcess.executable
            process.arguments = arguments
            process.standardError = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            // Kill it once the registry holds part of a blob: an upload session with data in it.
            let uploads = registry.uploads(of: "ferry/digits")
            var partial = false
            let deadline = ContinuousClock.now + .seconds(60)
            while !partial && process.isRunning && ContinuousClock.now < deadline {
                let sessions = (try? FileManager.default.contentsOfDirectory(atPath: uploads.path)) ?? []
                partial = sessions.contains { session in
                    let size = (try? FileManager.default.attributesOfItem(atPath: uploads.appendingPathComponent("\(session)/data").path))?[
                        .size]
                    return ((size as? NSNumber)?.intValue ?? 0) > 0
                }
                if !partial { try await Task.sleep(for: .milliseconds(5)) }
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(partial, "the push ended before any blob was half sent")

            let again = try FerryProcess.run(arguments)
            #expect(again.status == 0, "\(again.stderr)")
            let counts = again.stdout.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            // "(U blobs uploaded, B bytes; S already there)"
            let tail = Array(counts.suffix(3))
            #expect(tail.count == 3 && tail[0] >= 1 && tail[0] < 4 && tail[2] >= 1 && tail[0] + tail[2] == 4, "\(again.stdout)")
            let inspect = try Tool.run("skopeo", ["inspect", "--tls-verify=false", "docker://\(registry.address)/ferry/digits:v1"])
            #expect(try JSONParser.parse(inspect.stdout)["Digest"] == .string(image.digest), "\(inspect.stderr)")
        }
    }
}
