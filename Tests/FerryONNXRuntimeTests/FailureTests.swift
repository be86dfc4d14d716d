import FerryCore
import FerryONNXRuntime
import Foundation
import Testing

@Suite("Failures become clear FerryErrors")
struct FailureTests {
    @Test("a truncated model fails to load, naming the model and ONNX Runtime's reason")
    func corruptModel() throws {
        let error = try #require(throws: FerryError.self) {
            try ONNXRuntimeSession(runtime: Fixtures.runtime(), path: Fixtures.path("corrupt.onnx"), name: "corrupt")
        }
        #expect(error.code == .failedPrecondition)
        #expect(error.message.contains("model 'corrupt' failed to load"))
        #expect(error.message.contains("INVALID_PROTOBUF") || error.message.contains("FAIL"))
        #expect(error.backendCode != nil)
    }

    @Test("garbage bytes fail to load as a model")
    func garbageBytes() throws {
        let error = try #require(throws: FerryError.self) {
            try ONNXRuntimeSession(runtime: Fixtures.runtime(), modelData: Data("not a model".utf8), name: "garbage")
        }
        #expect(error.code == .failedPrecondition)
        #expect(error.backendCode == 7)
    }

    @Test("a missing model file says where it looked")
    func missingFile() throws {
        let error = try #require(throws: FerryError.self) {
            try ONNXRuntimeSession(runtime: Fixtures.runtime(), path: "/nonexistent/model.onnx", name: "ghost")
        }
        #expect(error.code == .notFound)
        #expect(error.message.contains("/nonexistent/model.onnx"))
    }

    @Test("a library path that does not exist is reported with how to install ONNX Runtime")
    func libraryNotFound() throws {
        let error = try #require(throws: FerryError.self) {
            try ONNXRuntime.load(libraryPath: "/nonexistent/libonnxruntime.so")
        }
        #expect(error.code == .failedPrecondition)
        #expect(error.message.contains("/nonexistent/libonnxruntime.so"))
        #expect(error.message.contains("scripts/install-onnxruntime"))
    }

    @Test("a shape ONNX Runtime rejects keeps its code and names the model and input")
    func runtimeRejectsShape() throws {
        let session = try Fixtures.session("mlp")
        // Bypasses signature validation on purpose, to reach ONNX Runtime's own check.
        let input = Tensor(name: "input", shape: [1, 65], values: [Float](repeating: 0, count: 65))
        let error = try #require(throws: FerryError.self) { try session.run([input], outputs: ["output"]) }
        #expect(error.code == .invalidArgument)
        #expect(error.backendCode == 2)
        #expect(error.message.contains("input 'input' of model 'mlp'"))
    }

    @Test("a string holding a NUL byte is refused before it reaches ONNX Runtime")
    func nulInString() throws {
        let session = try Fixtures.session("strings")
        let input = Tensor(name: "text", shape: [1], elements: [[0x61, 0x00, 0x62] as [UInt8]])
        let error = try #require(throws: FerryError.self) { try session.run([input], outputs: ["upper"]) }
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("NUL"))
    }

    @Test("an empty batch runs and returns empty outputs")
    func emptyBatch() throws {
        let session = try Fixtures.session("identity_fp32")
        let output = try session.run([Tensor(name: "x", shape: [0, 3], values: [Float]())], outputs: ["y"])
        #expect(output[0].shape == [0, 3])
        #expect(output[0].data.isEmpty)
    }
}
