import FerryCore
import Foundation
import Testing

@Suite("ferry inspect")
struct InspectCommandTests {
    @Test("prints the signature table with symbolic dimensions and metadata")
    func table() throws {
        let result = try FerryProcess.run(["inspect", FerryProcess.fixture("mlp.onnx")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Model mlp (onnxruntime_onnx)"))
        #expect(result.stdout.contains("  input  FP32      [batch, 64]\n"))
        #expect(result.stdout.contains("output  FP32      [batch, 16]"))
        #expect(result.stdout.contains("producer: ferry-tests"))
        #expect(result.stdout.contains("author  ferry-tests"))
    }

    @Test("--json prints a document with inputs, outputs and metadata")
    func json() throws {
        let result = try FerryProcess.run(["inspect", FerryProcess.fixture("classifier_zipmap.onnx"), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try JSONParser.parse(result.stdout)
        #expect(document["name"] == .string("classifier_zipmap"))
        let outputs = try #require(document["outputs"]?.arrayValue)
        #expect(outputs.map { $0["name"] } == [.string("output_label"), .string("output_probability")])
        #expect(outputs[1]["onnx_type"] == .string("seq(map(int64,tensor(float)))"))
        #expect(document["metadata"]?["producer_name"] == .string("skl2onnx"))
    }

    @Test("works on every fixture model and the digits example")
    func everyModel() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: FerryProcess.fixture(""))
            .filter { $0.hasSuffix(".onnx") && $0 != "corrupt.onnx" }
        #expect(files.count >= 28)
        for file in files {
            let result = try FerryProcess.run(["inspect", FerryProcess.fixture(file), "--json"])
            #expect(result.status == 0, "\(file): \(result.stderr)")
            #expect(throws: Never.self) { try JSONParser.parse(result.stdout) }
        }
        let digits = try FerryProcess.run(["inspect", "examples/models/digits/1/model.onnx"])
        #expect(digits.status == 0)
        #expect(digits.stdout.contains("probabilities"))
    }

    @Test("a corrupt model fails with one line, not a crash")
    func corrupt() throws {
        let result = try FerryProcess.run(["inspect", FerryProcess.fixture("corrupt.onnx")])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("ferry: model 'corrupt' failed to load"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }
}
