import FerryCore
import FerryImage
import Foundation
import Testing

@Suite("model artifacts: packing a model directory, and the paths a pull accepts")
struct ModelArtifactTests {
    @Test("every file of the model is one layer, typed by what it is; --version keeps one version; hidden files stay")
    func pack() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-artifact-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let model = root.appendingPathComponent("repo/mlp")
        for (path, contents) in [
            ("config.pbtxt", "name: \"mlp\""), ("1/model.onnx", "one"), ("2/model.onnx", "two"), ("2/report.json", "{}"),
            ("warmup/x.bin", "xx"), (".hidden", "no"),
        ] {
            let file = model.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(contents.utf8).write(to: file)
        }
        let layout = try OCILayout(root: root.appendingPathComponent("layout"))
        let all = try ModelArtifact.pack(modelDirectory: model.path, into: layout)
        #expect(all.name == "mlp")
        #expect(all.files == ["1/model.onnx", "2/model.onnx", "2/report.json", "config.pbtxt", "warmup/x.bin"])
        let second = try ModelArtifact.pack(modelDirectory: model.path, version: 2, into: layout)
        #expect(second.files == ["2/model.onnx", "2/report.json", "config.pbtxt", "warmup/x.bin"])
        #expect(second.manifest.digest != all.manifest.digest)
        // The same directory packs to the same manifest: pushing it again sends nothing new.
        #expect(try ModelArtifact.pack(modelDirectory: model.path, version: 2, into: layout).manifest == second.manifest)
        #expect(throws: FerryError.self) { try ModelArtifact.pack(modelDirectory: model.path, version: 3, into: layout) }
        #expect(ModelArtifact.mediaType(of: "1/model.onnx") == ModelArtifact.weightType)
        #expect(ModelArtifact.mediaType(of: "config.pbtxt") == ModelArtifact.weightConfigType)
        #expect(ModelArtifact.mediaType(of: "2/report.json") == ModelArtifact.docType)
        #expect(ModelArtifact.mediaType(of: "warmup/x.bin") == ModelArtifact.datasetType)
    }

    @Test("a single .onnx file packs as ferry serve serves it: a model named after the file, version 1")
    func singleFile() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-artifact-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let file = root.appendingPathComponent("digits.onnx")
        try Data("weights".utf8).write(to: file)
        try Data("beside".utf8).write(to: root.appendingPathComponent("other.txt"))
        let layout = try OCILayout(root: root.appendingPathComponent("layout"))
        let packed = try ModelArtifact.pack(modelDirectory: file.path, into: layout)
        #expect(packed.name == "digits" && packed.files == ["1/model.onnx"] && packed.bytes == 7)
        #expect(throws: FerryError.self) { try ModelArtifact.pack(modelDirectory: file.path, version: 2, into: layout) }
        #expect(throws: FerryError.self) { try ModelArtifact.pack(modelDirectory: root.appendingPathComponent("other.txt").path, into: layout) }
    }

    @Test(
        "a layer's path must stay inside the model directory",
        arguments: ["../x", "/etc/passwd", "1/../../x", "", "1//model.onnx", ".hidden", "1/./model.onnx"])
    func refusedPaths(path: String) throws {
        let layer = Descriptor(
            mediaType: ModelArtifact.weightType, digest: Digest.of(Data()), size: 0, annotations: [ModelArtifact.filepathAnnotation: path])
        #expect(throws: FerryError.self) { try ModelArtifact.checkedPath(layer) }
    }

    @Test("paths inside the directory are kept as they are")
    func acceptedPaths() throws {
        for path in ["config.pbtxt", "1/model.onnx", "12/weights/model.onnx_data"] {
            let layer = Descriptor(
                mediaType: ModelArtifact.weightType, digest: Digest.of(Data()), size: 0, annotations: [ModelArtifact.filepathAnnotation: path])
            #expect(try ModelArtifact.checkedPath(layer) == path)
        }
    }

    @Test("oci:// sources name a registry and repository; the provisional name is the repository's last part")
    func references() throws {
        let reference = try ModelArtifactCache.reference("oci://127.0.0.1:5000/team/mlp:v1")
        #expect(reference.registry == "127.0.0.1:5000" && reference.repository == "team/mlp" && reference.tag == "v1")
        #expect(ModelArtifactCache.provisionalName("oci://127.0.0.1:5000/team/mlp:v1") == "mlp")
        #expect(throws: FerryError.self) { try ModelArtifactCache.reference("oci://mlp") }
        #expect(throws: FerryError.self) { try ModelArtifactCache.reference("docker://127.0.0.1:5000/team/mlp:v1") }
    }
}
