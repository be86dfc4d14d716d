import FerryCore
import Foundation
import Synchronization
import Testing

/// Runs a program other than ferry (umoci, skopeo) and collects its output.
enum Tool {
    static func run(_ program: String, _ arguments: [String]) throws -> FerryProcess.Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return .init(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// Image builds, registries and runc load the disk and both cores: these
/// suites run one test at a time so the rest of the tests keep their pace.
@Suite("container images", .serialized)
struct ContainerImageTests {}

extension ContainerImageTests {
    @Suite("ferry build: OCI images without a container engine")
    struct ImageBuildTests {
        static func temporaryDirectory(_ name: String) throws -> URL {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-\(name)-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            return url
        }

        typealias Built = (layout: URL, digest: String, layers: [String: String])
        private static let shared = Mutex<Built?>(nil)

        /// One build of examples/models for the tests that only need an image
        /// (kept for the whole run; the tests run one at a time).
        static func sharedDigits() throws -> Built {
            if let built = shared.withLock({ $0 }) { return built }
            let built = try build("examples/models")
            shared.withLock { $0 = built }
            return built
        }

        /// Builds `repository` into a fresh layout; returns the layout, the manifest digest and the layer lines.
        static func build(_ repository: String, tag: String = "test") throws -> (layout: URL, digest: String, layers: [String: String]) {
            let layout = try temporaryDirectory("image")
            let result = try FerryProcess.run(["build", repository, "--output", "oci:\(layout.path):\(tag)"])
            #expect(result.status == 0, "\(result.stderr)")
            let lines = result.stdout.split(separator: "\n")
            let digest = String(lines.first?.split(separator: " ").first ?? "")
            // "  sha256:…  12.34 MB  gzip  runtime" → title: digest
            var layers: [String: String] = [:]
            for line in lines.dropFirst() where line.contains("sha256:") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                layers[fields.dropFirst(4).joined(separator: " ")] = String(fields[0])
            }
            return (layout, digest, layers)
        }

        @Test("two builds give the same digest, and umoci unpacks the image: ferry, ONNX Runtime, the models, user 65532")
        func deterministicAndUnpacks() throws {
            let first = try Self.build("examples/models")
            let second = try Self.build("examples/models")
            #expect(first.digest.hasPrefix("sha256:") && first.digest.count == 71, "\(first.digest)")
            #expect(first.digest == second.digest)
            #expect(Set(first.layers.keys) == ["base", "runtime", "model digits"])

            // umoci checks every blob digest and the config's diff_ids.
            let bundle = try Self.temporaryDirectory("bundle").appendingPathComponent("b")
            let unpack = try Tool.run("umoci", ["unpack", "--image", "\(first.layout.path):test", bundle.path])
            #expect(unpack.status == 0, "\(unpack.stderr)")
            let rootfs = bundle.appendingPathComponent("rootfs")
            #expect(FileManager.default.isExecutableFile(atPath: rootfs.appendingPathComponent("usr/local/bin/ferry").path))
            #expect(FileManager.default.fileExists(atPath: rootfs.appendingPathComponent("usr/local/lib/libonnxruntime.so.1.31.1").path))
            #expect(FileManager.default.fileExists(atPath: rootfs.appendingPathComponent("models/digits/config.pbtxt").path))
            #expect(FileManager.default.fileExists(atPath: rootfs.appendingPathComponent("models/digits/1/model.onnx").path))
            // ferry links FoundationEssentials only: full Foundation and its ICU data (40 MB) stay out.
            let files = try FileManager.default.subpathsOfDirectory(atPath: rootfs.path)
            #expect(files.contains { $0.hasSuffix("/libFoundationEssentials.so") })
            #expect(!files.contains { $0.hasSuffix("/libFoundation.so") || $0.hasSuffix("/lib_FoundationICU.so") })
            let passwd = try String(contentsOf: rootfs.appendingPathComponent("etc/passwd"), encoding: .utf8)
            #expect(passwd.contains("nonroot:x:65532:65532:"))
            let tmp = try FileManager.default.attributesOfItem(atPath: rootfs.appendingPathComponent("tmp").path)
            #expect((tmp[.posixPermissions] as? NSNumber)?.intValue == 0o1777)

            let config = try JSONParser.parse(Data(contentsOf: bundle.appendingPathComponent("config.json")))
            #expect(config["process"]?["user"]?["uid"] == .number("65532"))
            #expect(
                config["process"]?["args"]
                    == .array(["/usr/local/bin/ferry", "serve", "/models", "--host", "0.0.0.0"].map(JSONValue.string)))
            for url in [first.layout, second.layout, bundle.deletingLastPathComponent()] { try? FileManager.default.removeItem(at: url) }
        }

        @Test("changing one model changes only that model's layer")
        func modelChangeTouchesOneLayer() throws {
            let repository = try Self.temporaryDirectory("repository")
            try FileManager.default.copyItem(
                at: FerryProcess.repositoryRoot.appendingPathComponent("examples/models/digits"),
                to: repository.appendingPathComponent("digits"))
            let mlp = repository.appendingPathComponent("mlp/1")
            try FileManager.default.createDirectory(at: mlp, withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                atPath: FerryProcess.fixture("mlp.onnx"), toPath: mlp.appendingPathComponent("model.onnx").path)
            let before = try Self.build(repository.path)

            try FileManager.default.removeItem(at: mlp.appendingPathComponent("model.onnx"))
            try FileManager.default.copyItem(
                atPath: FerryProcess.fixture("multi_io.onnx"), toPath: mlp.appendingPathComponent("model.onnx").path)
            let after = try Self.build(repository.path)

            #expect(before.digest != after.digest)
            #expect(before.layers["base"] == after.layers["base"])
            #expect(before.layers["runtime"] == after.layers["runtime"])
            #expect(before.layers["model digits"] == after.layers["model digits"])
            #expect(before.layers["model mlp"] != after.layers["model mlp"])
            for url in [repository, before.layout, after.layout] { try? FileManager.default.removeItem(at: url) }
        }

        @Test("docker-archive output loads with skopeo (as docker load and podman load would) and still unpacks")
        func dockerArchive() throws {
            let work = try Self.temporaryDirectory("archive")
            defer { try? FileManager.default.removeItem(at: work) }
            let archive = work.appendingPathComponent("digits.tar")
            let build = try FerryProcess.run(["build", "examples/models", "--output", "docker-archive:\(archive.path):ferry/digits:v1"])
            #expect(build.status == 0, "\(build.stderr)")
            #expect(build.stdout.contains("docker-archive:\(archive.path):ferry/digits:v1"))
            let copy = try Tool.run("skopeo", ["copy", "docker-archive:\(archive.path)", "oci:\(work.path)/layout:v1"])
            #expect(copy.status == 0, "\(copy.stderr)")
            let unpack = try Tool.run("umoci", ["unpack", "--image", "\(work.path)/layout:v1", "\(work.path)/bundle"])
            #expect(unpack.status == 0, "\(unpack.stderr)")
            #expect(FileManager.default.isExecutableFile(atPath: "\(work.path)/bundle/rootfs/usr/local/bin/ferry"))
        }

        @Test("ferry.yaml next to the repository picks models, ports, env and labels; command-line options win")
        func projectFile() throws {
            let project = try Self.temporaryDirectory("project")
            defer { try? FileManager.default.removeItem(at: project) }
            let models = project.appendingPathComponent("models")
            try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                at: FerryProcess.repositoryRoot.appendingPathComponent("examples/models/digits"),
                to: models.appendingPathComponent("digits"))
            try FileManager.default.createDirectory(at: models.appendingPathComponent("mlp/1"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                atPath: FerryProcess.fixture("mlp.onnx"), toPath: models.appendingPathComponent("mlp/1/model.onnx").path)
            try Data(
                """
                # Ferry project file
                image:
                  models: [digits]          # mlp stays out
                  ports:
                    http: 9000
                  env:
                    FERRY_MAX_REQUEST_BYTES: "1048576"
                  labels:
                    org.opencontainers.image.description: Digits classifier
                    team: ml
                """.utf8
            ).write(to: project.appendingPathComponent("ferry.yaml"))
            let layout = project.appendingPathComponent("layout")
            let build = try FerryProcess.run(["build", models.path, "--output", "oci:\(layout.path):v1", "--label", "team=serving"])
            #expect(build.status == 0, "\(build.stderr)")
            #expect(build.stdout.contains("model digits") && !build.stdout.contains("model mlp"), "\(build.stdout)")

            let bundle = project.appendingPathComponent("bundle")
            let unpack = try Tool.run("umoci", ["unpack", "--image", "\(layout.path):v1", bundle.path])
            #expect(unpack.status == 0, "\(unpack.stderr)")
            let config = try JSONParser.parse(Data(contentsOf: bundle.appendingPathComponent("config.json")))
            #expect(
                config["process"]?["args"]
                    == .array(
                        ["/usr/local/bin/ferry", "serve", "/models", "--host", "0.0.0.0", "--http-port", "9000"].map(JSONValue.string)))
            #expect(config["process"]?["env"]?.arrayValue?.contains(.string("FERRY_MAX_REQUEST_BYTES=1048576")) == true)
            #expect(config["annotations"]?["org.opencontainers.image.description"] == .string("Digits classifier"))
            #expect(config["annotations"]?["team"] == .string("serving"))
            #expect(!FileManager.default.fileExists(atPath: bundle.appendingPathComponent("rootfs/models/mlp").path))
            let image = try JSONParser.parse(
                try Tool.run("skopeo", ["inspect", "--config", "oci:\(layout.path):v1"]).stdout)
            #expect(image["config"]?["ExposedPorts"]?["9000/tcp"] != nil, "\(image)")

            // A misspelt key and a syntax error are named with the file and the line.
            try Data("image:\n  modles: [digits]\n".utf8).write(to: project.appendingPathComponent("ferry.yaml"))
            let typo = try FerryProcess.run(["build", models.path, "--output", "oci:\(layout.path):v2"])
            #expect(typo.status == 1)
            #expect(typo.stderr.contains("ferry.yaml: unknown key 'image.modles'"), "\(typo.stderr)")
            try Data("image:\n  models: [digits\n".utf8).write(to: project.appendingPathComponent("ferry.yaml"))
            let broken = try FerryProcess.run(["build", models.path, "--output", "oci:\(layout.path):v2"])
            #expect(broken.status == 1)
            #expect(broken.stderr.contains("ferry.yaml:2: a flow sequence '[' is not closed on its line"), "\(broken.stderr)")
        }

        @Test("one .onnx file is packed as version 1 of a model named after it")
        func singleModelFile() throws {
            let layout = try Self.temporaryDirectory("single")
            defer { try? FileManager.default.removeItem(at: layout) }
            let build = try FerryProcess.run(["build", FerryProcess.fixture("mlp.onnx"), "--output", "oci:\(layout.path):v1"])
            #expect(build.status == 0, "\(build.stderr)")
            #expect(build.stdout.contains("model mlp"), "\(build.stdout)")
            let unpack = try Tool.run("umoci", ["unpack", "--image", "\(layout.path):v1", "\(layout.path)-bundle"])
            defer { try? FileManager.default.removeItem(atPath: "\(layout.path)-bundle") }
            #expect(unpack.status == 0, "\(unpack.stderr)")
            #expect(FileManager.default.fileExists(atPath: "\(layout.path)-bundle/rootfs/models/mlp/1/model.onnx"))
            let image = try JSONParser.parse(try Tool.run("skopeo", ["inspect", "oci:\(layout.path):v1"]).stdout)
            #expect(image["Labels"]?["dev.ferry.model.mlp.versions"] == .string("1"), "\(image)")
        }

        @Test("bad build arguments fail with one clear line")
        func badArguments() throws {
            let noTarget = try FerryProcess.run(["build", "examples/models", "--output", "docker://x"])
            #expect(noTarget.status != 0)
            #expect(noTarget.stderr.contains("--output must be oci:DIR[:TAG]"), "\(noTarget.stderr)")
            let nowhere = try FerryProcess.run(["build", "examples/models"])
            #expect(nowhere.status == 1)
            #expect(nowhere.stderr.contains("say where the image goes: --output oci:DIR"), "\(nowhere.stderr)")
            let unknownModel = try FerryProcess.run(["build", "examples/models", "--model", "iris", "--output", "oci:/tmp/never"])
            #expect(unknownModel.stderr.contains("has no model 'iris' (it has digits)"), "\(unknownModel.stderr)")
            let layout = try Self.temporaryDirectory("image")
            let missing = try FerryProcess.run(["build", "/nonexistent/models", "--output", "oci:\(layout.path)"])
            #expect(missing.status == 1)
            #expect(missing.stderr == "ferry: cannot read the model repository '/nonexistent/models'\n", "\(missing.stderr)")
        }
    }
}
