import FerryCore
import Foundation
import Testing

extension ContainerImageTests {
    /// `ferry build --dockerfile`: the same image as a Dockerfile and its
    /// context, built here with Buildah (which reads Dockerfiles as
    /// `docker build` does, without a daemon) and run with runc.
    @Suite("ferry build --dockerfile", .enabled(if: getuid() == 0, "buildah and runc need root"))
    struct DockerfileTests {
        @Test("buildah builds the Dockerfile; the image runs under runc, as uid 65532, and answers an inference")
        func buildahBuildsIt() async throws {
            let work = try ImageBuildTests.temporaryDirectory("dockerfile")
            defer { try? FileManager.default.removeItem(at: work) }
            let context = work.appendingPathComponent("context")
            let written = try FerryProcess.run(["build", "examples/models", "--dockerfile", context.path])
            #expect(written.status == 0, "\(written.stderr)")
            let dockerfile = try String(contentsOf: context.appendingPathComponent("Dockerfile"), encoding: .utf8)
            let lines = dockerfile.split(separator: "\n")
            #expect(lines.contains("FROM scratch"))
            #expect(
                lines.filter { $0.hasPrefix("COPY ") } == [
                    "COPY layers/1-base/ /", "COPY layers/2-runtime/ /", "COPY layers/3-model-digits/ /",
                ])
            #expect(lines.contains("USER 65532:65532"))
            #expect(lines.contains("EXPOSE 8000/tcp 8001/tcp 8002/tcp"))
            #expect(lines.contains(#"ENTRYPOINT ["/usr/local/bin/ferry","serve","/models","--host","0.0.0.0"]"#))

            let storage = [
                "--root", work.appendingPathComponent("storage").path, "--runroot", work.appendingPathComponent("run").path,
                "--storage-driver", "vfs",
            ]
            let bud = try Tool.run("buildah", storage + ["bud", "--layers", "-t", "localhost/ferry-digits:test", context.path])
            #expect(bud.status == 0, "\(bud.stderr)")
            let layout = work.appendingPathComponent("layout")
            let push = try Tool.run("buildah", storage + ["push", "localhost/ferry-digits:test", "oci:\(layout.path):test"])
            #expect(push.status == 0, "\(push.stderr)")

            let container = try await RuncContainer(image: "\(layout.path):test")
            defer { container.remove() }
            try await container.waitUntilReady()
            try await container.expectDigitsInference()
            let status = try String(contentsOfFile: "/proc/\(try container.pid())/status", encoding: .utf8)
            #expect(status.split(separator: "\n").contains { $0.hasPrefix("Uid:") && $0.contains("65532") })
            #expect(try await container.terminate())
        }

        @Test("a context folder that is not empty is refused")
        func refusesNonEmptyFolder() throws {
            let work = try ImageBuildTests.temporaryDirectory("dockerfile-busy")
            defer { try? FileManager.default.removeItem(at: work) }
            try Data("x".utf8).write(to: work.appendingPathComponent("keep"))
            let result = try FerryProcess.run(["build", "examples/models", "--dockerfile", work.path])
            #expect(result.status == 1)
            #expect(result.stderr.contains("is not empty; --dockerfile writes a fresh build context"), "\(result.stderr)")
        }
    }
}
