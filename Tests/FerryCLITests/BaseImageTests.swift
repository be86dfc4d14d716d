import Crypto
import FerryCore
import Foundation
import Testing

extension ContainerImageTests {
    /// `ferry build --base`: an image from a registry underneath, its layers
    /// kept byte for byte, the libraries it lacks added, and the result run.
    @Suite("ferry build --base: a base image pulled from a registry", .enabled(if: getuid() == 0, "umoci repack and runc need root"))
    struct BaseImageTests {
        /// A distroless/cc-like base made with umoci: glibc, libstdc++ and
        /// libgcc_s at Debian's paths, the loader behind a symbolic link, a
        /// non-root user; in two layers, the second deleting libz.so.1 with a
        /// whiteout, so Ferry must see through it and bring libz itself.
        static func makeBase(in work: URL) throws -> URL {
            let layout = work.appendingPathComponent("base-layout")
            let bundle = work.appendingPathComponent("base-bundle")
            for arguments in [["init", "--layout", layout.path], ["new", "--image", "\(layout.path):cc"]] {
                let result = try Tool.run("umoci", arguments)
                guard result.status == 0 else { throw FerryError(.internal, "umoci \(arguments[0]): \(result.stderr)") }
            }
            let unpack = try Tool.run("umoci", ["unpack", "--image", "\(layout.path):cc", bundle.path])
            guard unpack.status == 0 else { throw FerryError(.internal, "umoci unpack: \(unpack.stderr)") }
            let rootfs = bundle.appendingPathComponent("rootfs")
            let manager = FileManager.default
            let libraries = rootfs.appendingPathComponent("lib/x86_64-linux-gnu")
            try manager.createDirectory(at: libraries, withIntermediateDirectories: true)
            for name in [
                "ld-linux-x86-64.so.2", "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libgcc_s.so.1",
                "libstdc++.so.6", "libz.so.1",
            ] {
                let source = URL(fileURLWithPath: "/lib/x86_64-linux-gnu/\(name)").resolvingSymlinksInPath()
                try manager.copyItem(at: source, to: libraries.appendingPathComponent(name))
            }
            try manager.createDirectory(at: rootfs.appendingPathComponent("lib64"), withIntermediateDirectories: true)
            try manager.createSymbolicLink(
                atPath: rootfs.appendingPathComponent("lib64/ld-linux-x86-64.so.2").path,
                withDestinationPath: "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
            try manager.createDirectory(at: rootfs.appendingPathComponent("etc"), withIntermediateDirectories: true)
            try Data("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n".utf8).write(
                to: rootfs.appendingPathComponent("etc/passwd"))
            try manager.createDirectory(at: rootfs.appendingPathComponent("tmp"), withIntermediateDirectories: true)
            try manager.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: rootfs.appendingPathComponent("tmp").path)
            let first = try Tool.run("umoci", ["repack", "--refresh-bundle", "--image", "\(layout.path):cc", bundle.path])
            guard first.status == 0 else { throw FerryError(.internal, "umoci repack: \(first.stderr)") }
            try manager.removeItem(at: libraries.appendingPathComponent("libz.so.1"))
            let second = try Tool.run("umoci", ["repack", "--image", "\(layout.path):cc", bundle.path])
            guard second.status == 0 else { throw FerryError(.internal, "umoci repack: \(second.stderr)") }
            return layout
        }

        @Test(
            "the base's layers are kept as they are (Docker media types, picked from a manifest list), libz is added, the image runs, and the push mounts the base's blobs"
        )
        func buildOnPulledBase() async throws {
            let work = try ImageBuildTests.temporaryDirectory("base")
            defer { try? FileManager.default.removeItem(at: work) }
            let registry = try await RegistryProcess()
            defer { registry.stop() }
            let baseLayout = try Self.makeBase(in: work)

            // Pushed as Docker schema 2, as docker push would; then a manifest list with an arm64 decoy.
            let copy = try Tool.run(
                "skopeo",
                [
                    "copy", "--dest-tls-verify=false", "--format", "v2s2", "oci:\(baseLayout.path):cc",
                    "docker://\(registry.address)/base/cc:v1",
                ])
            #expect(copy.status == 0, "\(copy.stderr)")
            let raw = try Tool.run("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(registry.address)/base/cc:v1"])
            let manifest = try JSONParser.parse(raw.stdout)
            #expect(manifest["mediaType"] == .string("application/vnd.docker.distribution.manifest.v2+json"))
            let baseLayers = manifest["layers"]?.arrayValue?.compactMap { $0["digest"]?.stringValue } ?? []
            #expect(baseLayers.count == 2)
            let manifestDigest = "sha256:" + sha256Hex(Data(raw.stdout.utf8))
            // The arm64 entry is an empty image: picking it would leave the image without a C library.
            _ = try Tool.run("umoci", ["new", "--image", "\(baseLayout.path):empty"])
            let decoy = try Tool.run(
                "skopeo", ["copy", "--dest-tls-verify=false", "oci:\(baseLayout.path):empty", "docker://\(registry.address)/base/cc:decoy"])
            #expect(decoy.status == 0, "\(decoy.stderr)")
            let decoyRaw = try Tool.run("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(registry.address)/base/cc:decoy"])
            let list = """
                {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[\
                {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:\(sha256Hex(Data(decoyRaw.stdout.utf8)))","size":\(decoyRaw.stdout.utf8.count),"platform":{"architecture":"arm64","os":"linux","variant":"v8"}},\
                {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"\(manifestDigest)","size":\(raw.stdout.utf8.count),"platform":{"architecture":"amd64","os":"linux"}}]}
                """
            let put = try await HTTPCall.send(
                .PUT, "http://\(registry.address)/v2/base/cc/manifests/multi", body: list,
                headers: [("Content-Type", "application/vnd.docker.distribution.manifest.list.v2+json")])
            #expect(put.status == 201, "\(put.text)")

            let output = work.appendingPathComponent("layout")
            let build = try FerryProcess.run([
                "build", "examples/models", "--base", "\(registry.address)/base/cc:multi", "--output", "oci:\(output.path):v1",
                "--push", "\(registry.address)/ferry/digits:v1",
            ])
            #expect(build.status == 0, "\(build.stderr)")
            let lacks = build.stderr.split(separator: "\n").first { $0.contains("base/cc:multi lacks ") } ?? ""
            #expect(lacks.contains(" libz.so.1,") && lacks.contains(" libswiftCore.so,"), "\(build.stderr)")
            #expect(!lacks.contains("libc.so.6") && !lacks.contains("libstdc++"), "\(build.stderr)")
            let layerLines = build.stdout.split(separator: "\n").filter { $0.hasPrefix("  sha256:") }
            let digests = layerLines.map { String($0.split(separator: " ")[0]) }
            #expect(Array(digests.prefix(2)) == baseLayers, "\(build.stdout)")
            #expect(layerLines.last?.hasSuffix("model digits") == true)
            // Both base layers are linked from base/cc in the registry instead of uploaded.
            #expect(build.stdout.contains("; 2 mounted)"), "\(build.stdout)")

            let pushed = try JSONParser.parse(
                try Tool.run("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(registry.address)/ferry/digits:v1"]).stdout)
            #expect(
                pushed["annotations"]?["org.opencontainers.image.base.name"] == .string("\(registry.address)/base/cc@\(manifestDigest)"))
            #expect(pushed["layers"]?.arrayValue?.first?["mediaType"] == .string("application/vnd.oci.image.layer.v1.tar+gzip"))

            // Built again from the layout's copy of the base: the same image.
            let again = try FerryProcess.run([
                "build", "examples/models", "--base", "\(registry.address)/base/cc:multi", "--output", "oci:\(output.path):v2",
            ])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.split(separator: " ").first == build.stdout.split(separator: " ").first)

            // A docker archive holds the base's gzip layers as they are; skopeo and umoci check every diff_id.
            let archive = work.appendingPathComponent("digits.tar")
            let archived = try FerryProcess.run([
                "build", "examples/models", "--base", "\(registry.address)/base/cc:multi", "--output",
                "docker-archive:\(archive.path):ferry/digits:v1",
            ])
            #expect(archived.status == 0, "\(archived.stderr)")
            let fromArchive = try Tool.run("skopeo", ["copy", "docker-archive:\(archive.path)", "oci:\(work.path)/from-archive:v1"])
            #expect(fromArchive.status == 0, "\(fromArchive.stderr)")
            let unpacked = try Tool.run("umoci", ["unpack", "--image", "\(work.path)/from-archive:v1", "\(work.path)/archive-bundle"])
            #expect(unpacked.status == 0, "\(unpacked.stderr)")

            let container = try await RuncContainer(image: "\(output.path):v1")
            defer { container.remove() }
            try await container.waitUntilReady()
            try await container.expectDigitsInference()
            #expect(try await container.terminate())
        }

        @Test("a base that is not there, or has no image for this platform, is named in the error")
        func missingBase() async throws {
            let registry = try await RegistryProcess()
            defer { registry.stop() }
            let work = try ImageBuildTests.temporaryDirectory("base-missing")
            defer { try? FileManager.default.removeItem(at: work) }
            let missing = try FerryProcess.run([
                "build", "examples/models", "--base", "\(registry.address)/nothing/here:v1", "--output", "oci:\(work.path)/l",
            ])
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("404 Not Found (MANIFEST_UNKNOWN"), "\(missing.stderr)")

            let armOnly = """
                {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}
                """
            let put = try await HTTPCall.send(
                .PUT, "http://\(registry.address)/v2/base/empty/manifests/v1", body: armOnly,
                headers: [("Content-Type", "application/vnd.oci.image.index.v1+json")])
            #expect(put.status == 201, "\(put.text)")
            let noPlatform = try FerryProcess.run([
                "build", "examples/models", "--base", "\(registry.address)/base/empty:v1", "--output", "oci:\(work.path)/l",
            ])
            #expect(noPlatform.status == 1)
            #expect(noPlatform.stderr.contains("has no image for linux/amd64 (it offers no platforms)"), "\(noPlatform.stderr)")
        }
    }
}

func sha256Hex(_ data: Data) -> String {
    SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
}
