import FerryCore
import Foundation
import Testing

@Suite("Requests are checked against the model signature")
struct ValidationTests {
    let signature = ModelSignature(
        inputs: [
            TensorSpec(name: "x", datatype: .fp32, shape: [-1, 4], dimensionNames: ["batch", nil]),
            TensorSpec(name: "s", datatype: .bytes, shape: [-1]),
        ],
        outputs: [
            TensorSpec(name: "y", datatype: .fp32, shape: [-1]),
            TensorSpec(name: "z", datatype: .int64, shape: [-1]),
        ]
    )

    func request(x: Tensor? = nil, s: Tensor? = nil, outputs: [String] = []) -> InferenceRequest {
        InferenceRequest(
            inputs: [
                x ?? Tensor(name: "x", shape: [2, 4], values: [Float](repeating: 1, count: 8)),
                s ?? Tensor(name: "s", shape: [2], strings: ["a", "b"]),
            ],
            outputs: outputs.map { .init(name: $0) }
        )
    }

    func failure(_ request: InferenceRequest) throws -> String {
        let error = try #require(throws: FerryError.self) { try signature.validate(request, modelName: "m") }
        #expect(error.code == .invalidArgument)
        return error.message
    }

    @Test("a fitting request passes and gets every output in model order")
    func valid() throws {
        #expect(try signature.validate(request(), modelName: "m") == ["y", "z"])
        #expect(try signature.validate(request(outputs: ["z"]), modelName: "m") == ["z"])
    }

    @Test("an unknown input name is refused, listing the model's inputs")
    func unknownInput() throws {
        var bad = request()
        bad.inputs.append(Tensor(name: "q", shape: [1], values: [Float(1)]))
        #expect(try failure(bad) == "model 'm' has no input named 'q' (its inputs: x, s)")
    }

    @Test("a missing input is refused")
    func missingInput() throws {
        var bad = request()
        bad.inputs.removeLast()
        #expect(try failure(bad) == "model 'm' needs input 's', which the request does not provide")
    }

    @Test("an input given twice is refused")
    func duplicateInput() throws {
        var bad = request()
        bad.inputs.append(bad.inputs[0])
        #expect(try failure(bad) == "input 'x' appears more than once in the request")
    }

    @Test("a wrong datatype is refused")
    func wrongDatatype() throws {
        let bad = request(x: Tensor(name: "x", shape: [2, 4], values: [Int64](repeating: 1, count: 8)))
        #expect(try failure(bad) == "input 'x' of model 'm' has datatype FP32, but the request sends INT64")
    }

    @Test("a shape that does not fit is refused, with the model's shape by name", arguments: [[2, 5], [8], [1, 2, 4]])
    func misfitShape(dimensions: [Int]) throws {
        let count = TensorShape(dimensions).elementCount!
        let bad = request(x: Tensor(name: "x", shape: TensorShape(dimensions), values: [Float](repeating: 1, count: count)))
        #expect(
            try failure(bad)
                == "input 'x' of model 'm' has shape [batch, 4], which the request's shape \(TensorShape(dimensions)) does not fit")
    }

    @Test("bytes that do not match the shape are refused")
    func byteCount() throws {
        let bad = request(x: Tensor(name: "x", datatype: .fp32, shape: [2, 4], data: Data(count: 30)))
        #expect(try failure(bad) == "input 'x' of model 'm': shape [2, 4] of FP32 needs 32 bytes, but the request holds 30")
    }

    @Test("a BYTES element count that does not match the shape is refused")
    func bytesCount() throws {
        let bad = request(s: Tensor(name: "s", shape: [3], strings: ["a", "b"]))
        #expect(try failure(bad) == "input 's' of model 'm': shape [3] has 3 elements, but the request holds 2 BYTES elements")
    }

    @Test("a shape whose element count overflows is refused, not trapped on")
    func overflowingShape() throws {
        let bad = request(x: Tensor(name: "x", datatype: .fp32, shape: [Int.max / 2, 4], data: Data()))
        #expect(try failure(bad) == "input 'x' of model 'm': shape [\(Int.max / 2), 4] has more elements than can be addressed")
    }

    @Test("unknown or repeated requested outputs are refused")
    func outputs() throws {
        #expect(try failure(request(outputs: ["w"])) == "model 'm' has no output named 'w' (its outputs: y, z)")
        #expect(try failure(request(outputs: ["y", "y"])) == "output 'y' is requested more than once")
    }
}
