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
        #expect(error.message.contains("INVALID_PROTOBUF"))
        #expect(error.backendCode == 7)
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

    @Test("a failure that names no input blames the model, not a guessed input")
    func noGuessedInput() throws {
        let session = try Fixtures.session("mlp")
        // The model's one input is named "input"; ONNX Runtime's message for a wrong
        // element type contains that word without naming it.
        let wrongType = Tensor(name: "input", shape: [1, 64], values: [Double](repeating: 0, count: 64))
        let error = try #require(throws: FerryError.self) { try session.run([wrongType], outputs: ["output"]) }
        #expect(error.backendCode == 2)
        #expect(error.message.hasPrefix("ONNX Runtime rejected model 'mlp'"), "\(error.message)")
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

@Suite("Memory handed to and from ONNX Runtime")
struct MemoryOwnershipTests {
    @Test("an output that is the graph's input is copied, so it outlives the request")
    func outputAliasingInput() throws {
        let session = try Fixtures.session("passthrough")
        var outputs: [Tensor] = []
        var inputAddress: UnsafeRawPointer?
        do {
            let input = Tensor(name: "x", shape: [2, 4], values: (0..<8).map { Float($0) })
            inputAddress = input.data.withUnsafeBytes { $0.baseAddress }
            outputs = try session.run([input], outputs: ["x", "negated"])
        }
        // Churn the heap so freed request memory would be reused.
        let churn = (0..<64).map { _ in Data(repeating: 0xFF, count: 32) }
        #expect(churn.count == 64)
        #expect(outputs[0].data.withUnsafeBytes { $0.baseAddress } != inputAddress)
        #expect(try outputs[0].values(as: Float.self) == (0..<8).map { Float($0) })
        #expect(try outputs[1].values(as: Float.self) == (0..<8).map { -Float($0) })
    }

    @Test("input bytes that are not aligned for their type are copied before the run")
    func misalignedInput() throws {
        let session = try Fixtures.session("mlp")
        let values = (0..<64).map { Float($0) / 32 }
        let aligned = Tensor(name: "input", shape: [1, 64], values: values)
        var storage = Data([0])
        storage.append(aligned.data)
        let misaligned = Tensor(name: "input", datatype: .fp32, shape: [1, 64], data: storage.dropFirst())
        #expect(misaligned.data.withUnsafeBytes { Int(bitPattern: $0.baseAddress) % 4 } != 0)
        let expected = try session.run([aligned], outputs: ["output"])[0].data
        #expect(try session.run([misaligned], outputs: ["output"])[0].data == expected)
    }

    @Test("a rank-0 scalar goes in and comes out")
    func scalar() throws {
        let output = try Fixtures.session("scalar").run([Tensor(name: "x", shape: [], values: [Float(1.25)])], outputs: ["y"])
        #expect(output[0].shape == [])
        #expect(try output[0].values(as: Float.self) == [2.5])
    }
}
