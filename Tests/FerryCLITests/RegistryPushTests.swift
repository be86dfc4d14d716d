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

        @Test("basic auth: no or wrong credentials get the registry's UNAUTHORIZED; --password-stdin and docker config.json work")
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
            #expect(anonymous.stderr.contains("401 Unauthorized (UNAUTHORIZED: authentication required)"), "\(anonymous.stderr)")

            let wrong = try FerryProcess.run(
                ["push", source, destination, "--username", "ferry", "--password-stdin"], stdin: Data("wrong\n".utf8),
                environment: ["DOCKER_CONFIG": emptyConfig.path])
            #expect(wrong.status == 1)
            #expect(wrong.stderr.contains("401 Unauthorized"), "\(wrong.stderr)")

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
            let arguments = ["push", "oci:\(image.layout.path):test", "\(registry.address)/ferry/digits:v1", "--chunk-size", "1048576"]

            let process = Process()
            process.executableURL = FerryProcess.executable
            process.arguments = arguments
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            // Kill it once the first chunk of a large blob is in: the config is done, that blob is not.
            var log = ""
            while !log.contains(" of ") {
                let chunk = errors.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                log += String(decoding: chunk, as: UTF8.self)
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(log.contains(" of "), "\(log)")

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
