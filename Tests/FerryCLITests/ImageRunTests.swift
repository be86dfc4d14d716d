import FerryCore
import Foundation
import Testing

extension ContainerImageTests {
    /// The built image runs under runc (the OCI runtime Docker and Kubernetes
    /// use underneath), as uid 65532, answers v2 requests, and stops on SIGTERM.
    /// runc needs root, as in CI.
    @Suite("ferry build: the image runs under runc", .enabled(if: getuid() == 0, "runc needs root"))
    struct ImageRunTests {
        @Test("unpacked with umoci and run with runc: ready, an inference on digits, uid 65532, SIGTERM stops it")
        func runsUnderRunc() async throws {
            let image = try ImageBuildTests.sharedDigits()
            let container = try await RuncContainer(image: "\(image.layout.path):test")
            defer { container.remove() }
            try await container.waitUntilReady()
            try await container.expectDigitsInference()

            let status = try String(contentsOfFile: "/proc/\(try container.pid())/status", encoding: .utf8)
            #expect(
                status.split(separator: "\n").contains {
                    $0.hasPrefix("Uid:") && $0.split(separator: "\t").dropFirst().allSatisfy { $0 == "65532" }
                })

            #expect(try await container.terminate())
            #expect(container.logText.contains("\"message\":\"stopped\""), "the server shut down cleanly")
        }
    }
}
