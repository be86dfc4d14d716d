import FerryCore
import FerryProtocol
import Foundation
import Testing

@Suite("v2 inference request and response bodies")
struct InferenceRequestTests {
    @Test("a full request decodes: id, parameters, inputs, requested outputs")
    func fullRequest() throws {
        let body = #"""
            {"id": "r1", "parameters": {"priority": 2, "flag": true, "tag": "t", "scale": 0.5},
             "inputs": [{"name": "a", "shape": [1, 2], "datatype": "FP32", "data": [1.5, 2.5]},
                        {"name": "b", "shape": [2], "datatype": "BYTES", "data": ["x", "yz"]}],
             "outputs": [{"name": "sum", "parameters": {"binary_data": false}}]}
            """#
        let request = try InferenceRequest(v2JSON: Data(body.utf8))
        #expect(request.id == "r1")
        #expect(request.parameters == ["priority": .int(2), "flag": .bool(true), "tag": .string("t"), "scale": .double(0.5)])
        #expect(request.inputs.map { $0.name } == ["a", "b"])
        #expect(try request.inputs[0].values(as: Float.self) == [1.5, 2.5])
        #expect(request.outputs == [.init(name: "sum", parameters: ["binary_data": .bool(false)])])
    }

    @Test(
        "malformed requests say what is wrong",
        arguments: [
            ("[]", "the request body must be a JSON object, not an array"),
            ("{}", "the request has no 'inputs' array"),
            (#"{"inputs": {}}"#, "'inputs' must be an array, not an object"),
            (#"{"inputs": [{"shape": [1], "datatype": "FP32", "data": [1]}]}"#, "input 0 has no 'name' string"),
            (#"{"inputs": [{"name": "a", "shape": [1], "data": [1]}]}"#, "input 'a' has no 'datatype' string"),
            (#"{"inputs": [{"name": "a", "shape": [1], "datatype": "FLOAT32", "data": [1]}]}"#, "input 'a': unknown datatype 'FLOAT32'"),
            (
                #"{"inputs": [{"name": "a", "shape": [-1], "datatype": "FP32", "data": [1]}]}"#,
                "input 'a': 'shape' must be an array of non-negative integers"
            ),
            (
                #"{"inputs": [{"name": "a", "shape": [4294967296, 4294967296], "datatype": "FP32", "data": [1]}]}"#,
                "input 'a': shape [4294967296, 4294967296] holds more elements than any tensor can"
            ),
            (#"{"inputs": [{"name": "a", "shape": [1], "datatype": "FP32"}]}"#, "input 'a' has no 'data'"),
            (#"{"inputs": [], "outputs": [{"nam": "x"}]}"#, "output 0 in 'outputs' has no 'name' string"),
            (#"{"inputs": [], "id": 5}"#, "'id' must be a string, not a number"),
            (
                #"{"inputs": [], "parameters": {"a": [1]}}"#,
                "parameter 'a' of the request must be a boolean, number or string, not an array"
            ),
        ]
    )
    func malformedRequest(body: String, message: String) throws {
        let error = try #require(throws: FerryError.self) { try InferenceRequest(v2JSON: Data(body.utf8)) }
        #expect(error.code == .invalidArgument)
        #expect(error.message.hasPrefix(message), "\(error.message)")
    }

    @Test("a response encodes as v2 JSON with its outputs in order")
    func responseEncoding() throws {
        let response = InferenceResponse(
            modelName: "m",
            modelVersion: "1",
            id: "r1",
            outputs: [
                Tensor(name: "y", shape: [2], values: [Int64(-1), 2]),
                Tensor(name: "s", shape: [1], strings: ["ok"]),
            ]
        )
        let text = String(decoding: try response.v2JSON(), as: UTF8.self)
        #expect(
            text
                == #"{"model_name":"m","model_version":"1","id":"r1","outputs":[{"name":"y","datatype":"INT64","shape":[2],"data":[-1,2]},{"name":"s","datatype":"BYTES","shape":[1],"data":["ok"]}]}"#
        )
    }

    @Test("BYTES serialization that runs past its end is refused")
    func truncatedBytes() throws {
        var data = Data()
        BytesTensorCoding.appendLength(10, to: &data)
        data.append(contentsOf: [1, 2, 3])
        let error = try #require(throws: FerryError.self) { try BytesTensorCoding.decode(data, tensorName: "s") }
        #expect(error.message.contains("declares 10 bytes but only 3 remain"))
    }
}
