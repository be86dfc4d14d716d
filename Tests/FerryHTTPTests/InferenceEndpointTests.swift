import FerryCore
import FerryProtocol
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite("POST /v2/models/{m}/infer")
struct InferenceEndpointTests {
    @Test("a JSON request gets a JSON response with the model's outputs")
    func jsonInference() async throws {
        try await withV2Router { client, _ in
            let body = try String(contentsOf: repositoryRoot.appendingPathComponent("examples/requests/digits.json"), encoding: .utf8)
            let response = try await client.execute(uri: "/v2/models/digits/infer", method: .post, body: ByteBuffer(json: body))
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            #expect(response.json["model_name"] == .string("digits"))
            #expect(response.json["model_version"] == .string("1"))
            let label = response.json["outputs"]?.arrayValue?.first { $0["name"] == .string("label") }
            #expect(label?["data"] == .array([.number("1")]))
        }
    }

    @Test("binary tensor data in and out: header length, binary_data_size, raw bytes after the JSON")
    func binaryInference() async throws {
        try await withV2Router { client, _ in
            let values = (0..<64).map { Float($0) / 64 }
            let input = values.withUnsafeBufferPointer { Data(buffer: $0) }
            let header =
                #"{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","parameters":{"binary_data_size":256}}],"outputs":[{"name":"output","parameters":{"binary_data":true}}]}"#
            var body = ByteBuffer(string: header)
            body.writeBytes(input)
            let response = try await client.execute(
                uri: "/v2/models/mlp/versions/1/infer",
                method: .post,
                headers: [headerLengthField: String(header.utf8.count)],
                body: body
            )
            #expect(response.status == .ok)
            let jsonLength = try #require(response.headers[headerLengthField].flatMap { Int($0) })
            let bytes = Array(response.body.readableBytesView)
            let json = try JSONParser.parse(Data(bytes[..<jsonLength]))
            let output = try #require(json["outputs"]?.arrayValue?.first)
            #expect(output["parameters"]?["binary_data_size"] == .number("64"))
            #expect(output["data"] == nil)
            #expect(bytes.count - jsonLength == 64)

            // The same request as JSON gives the same floats.
            let jsonRequest =
                #"{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[\#(values.map { "\($0)" }.joined(separator: ","))]}]}"#
            let reference = try await client.execute(uri: "/v2/models/mlp/infer", method: .post, body: ByteBuffer(json: jsonRequest))
            let referenceTensor = try InferenceRequest(
                v2JSON: .object(["inputs": .array([reference.json["outputs"]!.arrayValue![0]])])
            ).inputs[0]
            #expect(Data(bytes[jsonLength...]) == referenceTensor.data)
        }
    }

    @Test("BYTES outputs that are not UTF-8 are never altered: binary for a client that sends binary, else a clear refusal")
    func nonTextBytes() async throws {
        try await withV2Router { client, _ in
            let elements: [[UInt8]] = [[0xff, 0xfe], Array("ok".utf8), [0xc3]]
            let input = BytesTensorCoding.encode(elements)
            for (outputs, expectBinary) in [("", true), (#","outputs":[{"name":"y","parameters":{"binary_data":false}}]"#, false)] {
                let header =
                    #"{"inputs":[{"name":"x","shape":[1,3],"datatype":"BYTES","parameters":{"binary_data_size":\#(input.count)}}]\#(outputs)}"#
                var body = ByteBuffer(string: header)
                body.writeBytes(input)
                let response = try await client.execute(
                    uri: "/v2/models/identity_bytes/infer", method: .post, headers: [headerLengthField: String(header.utf8.count)],
                    body: body)
                if expectBinary {
                    #expect(response.status == .ok)
                    let jsonLength = try #require(response.headers[headerLengthField].flatMap { Int($0) })
                    let binary = Data(Array(response.body.readableBytesView)[jsonLength...])
                    #expect(try BytesTensorCoding.decode(binary, tensorName: "y").map { Array($0) } == elements)
                } else {
                    #expect(response.status == .badRequest)
                    #expect(
                        response.json["error"]?.stringValue
                            == #"BYTES tensor 'y' element 0 is not UTF-8 text, which a JSON string cannot carry unaltered: ask for it as binary data (the binary tensor extension, "binary_data": true)"#
                    )
                }
            }
        }
    }

    @Test("Inference-Header-Content-Length takes digits only")
    func headerLengthDigitsOnly() async throws {
        try await withV2Router { client, _ in
            let header = #"{"inputs":[{"name":"x","shape":[1,3],"datatype":"BYTES","data":["a","b","c"]}]}"#
            // (Surrounding spaces are not part of a field value: HTTP parsers strip them.)
            for value in ["+\(header.utf8.count)", "-0", "0x4f", ""] {
                let response = try await client.execute(
                    uri: "/v2/models/identity_bytes/infer", method: .post, headers: [headerLengthField: value], body: ByteBuffer(string: header))
                #expect(response.status == .badRequest, "'\(value)'")
            }
        }
    }

    @Test("binary_data_output returns every output as binary")
    func binaryDataOutput() async throws {
        try await withV2Router { client, _ in
            let header =
                #"{"inputs":[{"name":"x","shape":[1,3],"datatype":"BYTES","data":["a","bc",""]}],"parameters":{"binary_data_output":true}}"#
            let response = try await client.execute(uri: "/v2/models/identity_bytes/infer", method: .post, body: ByteBuffer(json: header))
            #expect(response.status == .ok)
            let jsonLength = try #require(response.headers[headerLengthField].flatMap { Int($0) })
            let binary = Data(Array(response.body.readableBytesView)[jsonLength...])
            #expect(try BytesTensorCoding.decode(binary, tensorName: "y").map { String(decoding: $0, as: UTF8.self) } == ["a", "bc", ""])
        }
    }

    @Test("a raw binary body is the single input of a fixed-shape model")
    func rawBinary() async throws {
        try await withV2Router { client, _ in
            var body = ByteBuffer()
            for value in (0..<128).map({ Float($0) / 128 }) { body.writeInteger(value.bitPattern, endianness: .little) }
            let response = try await client.execute(
                uri: "/v2/models/mlp/infer", method: .post, headers: [headerLengthField: "0"], body: body)
            #expect(response.status == .ok)
            let jsonLength = try #require(response.headers[headerLengthField].flatMap { Int($0) })
            let json = try JSONParser.parse(Data(Array(response.body.readableBytesView)[..<jsonLength]))
            #expect(json["outputs"]?.arrayValue?.first?["shape"] == .array([.number("2"), .number("16")]))
        }
    }

    @Test("requested outputs come back in the requested order")
    func requestedOutputs() async throws {
        try await withV2Router { client, _ in
            let body = #"""
                {"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},
                           {"name":"b","shape":[1],"datatype":"INT64","data":[7]},
                           {"name":"c","shape":[1],"datatype":"BYTES","data":["x"]}],
                 "outputs":[{"name":"b_doubled"},{"name":"sum"}]}
                """#
            let response = try await client.execute(uri: "/v2/models/multi_io/infer", method: .post, body: ByteBuffer(json: body))
            #expect(response.json["outputs"]?.arrayValue?.map { $0["name"] } == [.string("b_doubled"), .string("sum")])
        }
    }

    @Test(
        "bad requests get the right status and a message that says what was wrong",
        arguments: [
            ("/v2/models/nope/infer", #"{"inputs":[]}"#, 404, "unknown model 'nope'"),
            ("/v2/models/mlp/versions/7/infer", #"{"inputs":[]}"#, 404, "model 'mlp' has no version 7 ready (serving: 1)"),
            (
                "/v2/models/mlp/infer", #"{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}"#, 400,
                "input 'input' of model 'mlp' has shape [-1, 64], which the request's shape [1, 3] does not fit"
            ),
            (
                "/v2/models/mlp/infer", #"{"inputs":[{"name":"input","shape":[1,1],"datatype":"INT32","data":[1]}]}"#, 400,
                "input 'input' of model 'mlp' has datatype FP32, but the request sends INT32"
            ),
            ("/v2/models/mlp/infer", #"{"inputs":[{"name":"input""#, 400, "malformed JSON at byte"),
            ("/v2/models/broken/infer", #"{"inputs":[]}"#, 503, "model 'broken' is not ready (UNAVAILABLE: model 'broken' failed to load"),
        ]
    )
    func errors(uri: String, body: String, status: Int, message: String) async throws {
        try await withV2Router(broken: true) { client, _ in
            let response = try await client.execute(uri: uri, method: .post, body: ByteBuffer(json: body))
            #expect(response.status.code == status)
            #expect(response.error?.hasPrefix(message) == true, "\(response.error ?? "no error")")
        }
    }

    @Test("a body over --max-request-bytes gets 413")
    func oversizedBody() async throws {
        try await withV2Router(maxRequestBytes: 1024) { client, _ in
            let body =
                #"{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[\#(Array(repeating: "0.123456789", count: 200).joined(separator: ","))]}]}"#
            let response = try await client.execute(uri: "/v2/models/mlp/infer", method: .post, body: ByteBuffer(json: body))
            #expect(response.status == .contentTooLarge)
            #expect(response.error?.contains("1024 bytes") == true)
        }
    }

    @Test("binary_data_size that runs past the body is refused")
    func shortBinary() async throws {
        try await withV2Router { client, _ in
            let header = #"{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","parameters":{"binary_data_size":256}}]}"#
            var body = ByteBuffer(string: header)
            body.writeBytes([UInt8](repeating: 0, count: 100))
            let response = try await client.execute(
                uri: "/v2/models/mlp/infer", method: .post, headers: [headerLengthField: String(header.utf8.count)], body: body
            )
            #expect(response.status == .badRequest)
            #expect(response.error == "input 'input' declares binary_data_size 256, but only 100 bytes of binary data remain")
        }
    }
}
