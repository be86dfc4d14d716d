import FerryConvert
import FerryCore
import Foundation
import Testing

@Suite("writing a converted model into a repository")
struct RepositoryWritingTests {
    static func report(dynamicBatch: Bool) throws -> ConversionReport {
        let dims = dynamicBatch ? "[-1,3,224,224]" : "[2,3,224,224]"
        let json = """
            {"framework":"pytorch","format":"torchscript","converter":"torch.onnx.export (dynamo)","opset":18,
             "inputs":[{"name":"image","datatype":"FP32","dims":\(dims)}],
             "outputs":[{"name":"logits","datatype":"FP32","dims":[\(dynamicBatch ? -1 : 2),1000]},{"name":"label","datatype":"INT64","dims":[\(dynamicBatch ? -1 : 2)]}],
             "dynamic_batch":\(dynamicBatch),"checks":[{"name":"onnx.checker (full_check)","passed":true,"detail":""}],
             "cases":[{"name":"random batch 1","outputs":[{"name":"logits","max_abs":1.5e-06,"max_rel":2e-05,"atol":0.0001,"rtol":0.001,"passed":true,"argmax_agreement":1.0}]}],
             "optimize":null,"quantize":null}
            """
        return try ConversionReport(converterReport: JSONParser.parse(json))
    }

    @Test("config.pbtxt: Triton's format, dims after the batch and max_batch_size when the batch is dynamic")
    func dynamicConfig() throws {
        let text = TritonConfigWriter.text(name: "resnet", report: try Self.report(dynamicBatch: true), maxBatchSize: 8)
        #expect(
            text == """
                name: "resnet"
                platform: "onnxruntime_onnx"
                max_batch_size: 8
                input [
                  {
                    name: "image"
                    data_type: TYPE_FP32
                    dims: [ 3, 224, 224 ]
                  }
                ]
                output [
                  {
                    name: "logits"
                    data_type: TYPE_FP32
                    dims: [ 1000 ]
                  },
                  {
                    name: "label"
                    data_type: TYPE_INT64
                    dims: [  ]
                  }
                ]
                dynamic_batching { }

                """)
    }

    @Test("a static batch keeps every dimension and max_batch_size 0")
    func staticConfig() throws {
        let text = TritonConfigWriter.text(name: "m", report: try Self.report(dynamicBatch: false), maxBatchSize: 8)
        #expect(text.contains("max_batch_size: 0\n"))
        #expect(text.contains("dims: [ 2, 3, 224, 224 ]"))
        #expect(!text.contains("dynamic_batching"))
    }

    @Test("the version directory appears whole or not at all; an existing one needs --force; a hand-written config is kept")
    func placement() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-placement-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/work", withIntermediateDirectories: true)
        func stage(_ content: String) throws -> [(String, String)] {
            try Data(content.utf8).write(to: URL(fileURLWithPath: root + "/work/model.onnx"))
            return [("model.onnx", root + "/work/model.onnx")]
        }
        let placement = RepositoryPlacement(repository: root + "/repo", name: "m", version: 1)
        try placement.checkFree(force: false)
        #expect(try placement.place(files: try stage("first"), config: "config A\n", force: false) == .written)
        #expect(try String(contentsOfFile: root + "/repo/m/1/model.onnx", encoding: .utf8) == "first")

        let taken = #expect(throws: FerryError.self) { try placement.checkFree(force: false) }
        #expect(taken?.message == "\(root)/repo/m/1 already exists: choose another --version, or --force to replace it")
        #expect(throws: FerryError.self) { try placement.place(files: try stage("second"), config: "config A\n", force: false) }
        #expect(try String(contentsOfFile: root + "/repo/m/1/model.onnx", encoding: .utf8) == "first")
        let second = RepositoryPlacement(repository: root + "/repo", name: "m", version: 2)
        #expect(try second.place(files: try stage("second"), config: "config B\n", force: false) == .keptExisting)
        #expect(try String(contentsOfFile: root + "/repo/m/config.pbtxt", encoding: .utf8) == "config A\n")
        #expect(try placement.place(files: try stage("third"), config: "config B\n", force: true) == .written)
        #expect(try String(contentsOfFile: root + "/repo/m/1/model.onnx", encoding: .utf8) == "third")
        #expect(try String(contentsOfFile: root + "/repo/m/config.pbtxt", encoding: .utf8) == "config B\n")
        // No staging or replaced directories are left beside the version.
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/repo/m").sorted() == ["1", "2", "config.pbtxt"])
    }

    @Test("conversion.json starts with the verdict and keeps its members in order")
    func reportJSON() throws {
        var report = try Self.report(dynamicBatch: true)
        report.sourceDigest = "ab"
        let text = String(decoding: report.json(options: ConversionOptions(source: "m.pt", repository: "r")), as: UTF8.self)
        #expect(text.hasPrefix("{\n  \"verdict\": \"fail\",\n  \"source\": {\n    \"path\": \"\",\n    \"sha256\": \"ab\","))
        #expect(text.contains("\"dims\": [-1, 3, 224, 224]"))
        let parsed = try JSONParser.parse(text)
        #expect(parsed["cases"]?.arrayValue?.count == 1)
        // No check through Ferry's runtime ran, so the verdict cannot be pass.
        #expect(!report.passed)
    }

    @Test("the converter script and requirements compiled into ferry are the ones in converters/")
    func embeddedFilesAreCurrent() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = try String(contentsOf: root.appendingPathComponent("converters/ferry_convert.py"), encoding: .utf8)
        #expect(EmbeddedConverter.script + "\n" == script, "run scripts/embed-converters")
        for framework in SourceFramework.allCases {
            let file = try String(contentsOf: root.appendingPathComponent("converters/requirements-\(framework.rawValue).txt"), encoding: .utf8)
            #expect(EmbeddedConverter.requirements(for: framework) + "\n" == file, "\(framework): run scripts/embed-converters")
        }
        #expect(EmbeddedConverter.pinnedVersion(of: "onnxruntime", in: .pytorch) == "1.31.1")
    }
}
