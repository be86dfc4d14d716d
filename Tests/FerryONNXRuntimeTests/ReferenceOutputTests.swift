import FerryCore
import FerryProtocol
import FerryONNXRuntime
import Foundation
import Testing

@Suite("Outputs equal Python onnxruntime's reference outputs")
struct ReferenceOutputTests {
    @Test("every fixture's cases file parses and has cases", arguments: Fixtures.caseFiles)
    func fixtureFilesParse(_ model: String) throws {
        let document = try Fixtures.document(model)
        let cases = try #require(document["cases"]?.arrayValue)
        #expect(!cases.isEmpty)
        #expect(FixtureCase.all.filter { $0.model == model }.count == cases.count)
    }

    @Test("the fixture set covers every datatype and the edge-case models")
    func fixtureCoverage() {
        for type in DataType.allCases {
            #expect(Fixtures.caseFiles.contains("identity_\(type.rawValue.lowercased())"), "identity model for \(type.rawValue)")
        }
        for model in [
            "mlp", "strings", "multi_io", "classifier_zipmap", "classifier_zipmap_strlabels", "symbolic_dims", "passthrough", "scalar",
        ] {
            #expect(Fixtures.caseFiles.contains(model))
        }
    }

    @Test("fixture case reproduces the reference response", arguments: FixtureCase.all)
    func referenceCase(_ fixture: FixtureCase) throws {
        let session = try Fixtures.session(fixture.model)
        let request = try InferenceRequest(v2JSON: fixture.request)
        let response = try session.infer(request, modelName: fixture.model)
        let expected = try #require(fixture.response["outputs"]?.arrayValue)
        #expect(response.outputs.count == expected.count)
        for (actual, reference) in zip(response.outputs, expected) {
            try TensorComparison.expectEqual(actual, reference)
        }
    }

    @Test("the MLP's outputs are bit-exact with Python's at batch 1, 3 and 64")
    func mlpBitExact() throws {
        let session = try Fixtures.session("mlp")
        let document = try Fixtures.document("mlp")
        for entry in try #require(document["cases"]?.arrayValue) {
            let request = try InferenceRequest(v2JSON: entry["request"]!)
            let output = try #require(try session.infer(request, modelName: "mlp").outputs.first)
            let reference = try #require(entry["response"]?["outputs"]?.arrayValue?.first)
            let expected = try TensorJSONCoding.decode(reference["data"]!, datatype: .fp32, shape: output.shape, tensorName: "output")
            #expect(output.data == expected, "case \(entry["name"]?.stringValue ?? "")")
        }
    }

    @Test("a session loaded from bytes answers like one loaded from the file")
    func sessionFromBytes() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("mlp.onnx")))
        let fromBytes = try ONNXRuntimeSession(runtime: Fixtures.runtime(), modelData: bytes, name: "mlp")
        let fromFile = try Fixtures.session("mlp")
        #expect(fromBytes.signature == fromFile.signature)
        let input = Tensor(name: "input", shape: [2, 64], values: (0..<128).map { Float($0) / 64 })
        let a = try fromBytes.run([input], outputs: ["output"])
        let b = try fromFile.run([input], outputs: ["output"])
        #expect(a[0].data == b[0].data)
    }

    @Test("session options change how, not what, the model computes")
    func sessionOptions() throws {
        let input = Tensor(name: "input", shape: [4, 64], values: (0..<256).map { Float($0 % 17) / 8 - 1 })
        let reference = try Fixtures.session("mlp").run([input], outputs: ["output"])[0]
        for options in [
            ONNXRuntimeOptions(intraOpThreads: 1, interOpThreads: 1, graphOptimization: .disabled),
            ONNXRuntimeOptions(intraOpThreads: 2, graphOptimization: .basic, executionMode: .parallel),
            ONNXRuntimeOptions(graphOptimization: .extended),
        ] {
            let output = try Fixtures.session("mlp", options: options).run([input], outputs: ["output"])[0]
            let actual = try output.values(as: Float.self)
            let expected = try reference.values(as: Float.self)
            #expect(zip(actual, expected).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) }, "\(options)")
        }
    }

    @Test("concurrent runs on one session each get their own correct result")
    func concurrentRuns() async throws {
        let session = try Fixtures.session("mlp")
        let inputs = (0..<8).map { seed in
            Tensor(name: "input", shape: [3, 64], values: (0..<192).map { Float(($0 * 7 + seed * 13) % 29) / 10 })
        }
        let expected = try inputs.map { try session.run([$0], outputs: ["output"])[0].data }
        try await withThrowingTaskGroup(of: (Int, Data).self) { group in
            for round in 0..<64 {
                let index = round % inputs.count
                let input = inputs[index]
                group.addTask { (index, try session.run([input], outputs: ["output"])[0].data) }
            }
            for try await (index, data) in group {
                #expect(data == expected[index])
            }
        }
    }
}
