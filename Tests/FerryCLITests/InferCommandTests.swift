import FerryCore
import Foundation
import Testing

@Suite("ferry infer")
struct InferCommandTests {
    @Test("classifies the digits example request correctly")
    func digits() throws {
        let result = try FerryProcess.run(["infer", "examples/models/digits/1/model.onnx", "--data", "examples/requests/digits.json"])
        #expect(result.status == 0, "\(result.stderr)")
        let response = try JSONParser.parse(result.stdout)
        let expected = try JSONParser.parse(
            Data(contentsOf: FerryProcess.repositoryRoot.appendingPathComponent("examples/requests/digits.expected.json")))
        let label = response["outputs"]?.arrayValue?.first { $0["name"] == .string("label") }
        #expect(label?["data"] == expected["labels"])
        #expect(response["model_name"] == .string("digits"))
        #expect(response["model_version"] == .string("1"))
    }

    @Test("reads the request from stdin with --data -")
    func stdin() throws {
        let body = #"{"inputs":[{"name":"x","shape":[1,3],"datatype":"INT16","data":[[-32768,0,32767]]}]}"#
        let result = try FerryProcess.run(["infer", FerryProcess.fixture("identity_int16.onnx"), "--data", "-"], stdin: Data(body.utf8))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains(#""data":[-32768,0,32767]"#))
    }

    @Test("prints only the requested outputs, in the requested order")
    func requestedOutputs() throws {
        let body = #"""
            {"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},
                       {"name":"b","shape":[1],"datatype":"INT64","data":[-3]},
                       {"name":"c","shape":[1],"datatype":"BYTES","data":["hi"]}],
             "outputs":[{"name":"c_copy"},{"name":"sum"}]}
            """#
        let result = try FerryProcess.run(["infer", FerryProcess.fixture("multi_io.onnx"), "--data", try FerryProcess.requestFile(body)])
        #expect(result.status == 0, "\(result.stderr)")
        let outputs = try #require(try JSONParser.parse(result.stdout)["outputs"]?.arrayValue)
        #expect(outputs.map { $0["name"] } == [.string("c_copy"), .string("sum")])
        #expect(outputs[1]["data"] == .array([.number("10.0")]))
    }

    @Test(
        "bad input exits 1 with one clear sentence",
        arguments: [
            (
                #"{"inputs":[{"name":"nope","shape":[1],"datatype":"FP32","data":[0]}]}"#,
                "ferry: model 'mlp' has no input named 'nope' (its inputs: input)"
            ),
            (
                #"{"inputs":[{"name":"input","shape":[1,64],"datatype":"INT32","data":\#(Array(repeating: 0, count: 64))}]}"#,
                "ferry: input 'input' of model 'mlp' has datatype FP32, but the request sends INT32"
            ),
            (
                #"{"inputs":[{"name":"input","shape":[1,63],"datatype":"FP32","data":\#(Array(repeating: 0, count: 63))}]}"#,
                "ferry: input 'input' of model 'mlp' has shape [batch, 64], which the request's shape [1, 63] does not fit"
            ),
            (
                #"{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[1,2,3]}]}"#,
                "ferry: input 'input': shape [1, 64] has 64 elements, but 'data' holds 3"
            ),
            (
                #"{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[1,2,3]"#,
                "ferry: malformed JSON at byte"
            ),
            (
                #"{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":\#(Array(repeating: 0, count: 64))}],"outputs":[{"name":"zzz"}]}"#,
                "ferry: model 'mlp' has no output named 'zzz' (its outputs: output)"
            ),
        ]
    )
    func badInput(body: String, message: String) throws {
        let result = try FerryProcess.run(["infer", FerryProcess.fixture("mlp.onnx"), "--data", try FerryProcess.requestFile(body)])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix(message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }

    @Test("a missing request file or model file is one clear line")
    func missingFiles() throws {
        let noRequest = try FerryProcess.run(["infer", FerryProcess.fixture("mlp.onnx"), "--data", "/nonexistent.json"])
        #expect(noRequest.status == 1)
        #expect(noRequest.stderr == "ferry: cannot read the request file /nonexistent.json\n")
        let noModel = try FerryProcess.run(["infer", "/nonexistent/model.onnx", "--data", "examples/requests/digits.json"])
        #expect(noModel.status == 1)
        #expect(noModel.stderr.hasPrefix("ferry: model 'model': no model file at /nonexistent/model.onnx"))
    }

    @Test("a library that cannot be found lists where ferry looked")
    func libraryNotFound() throws {
        let result = try FerryProcess.run([
            "infer", FerryProcess.fixture("mlp.onnx"), "--data", "examples/requests/digits.json",
            "--onnxruntime-lib", "/nonexistent/libonnxruntime.so",
        ])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("ferry: ONNX Runtime library not found. Looked in:"))
        #expect(result.stderr.contains("scripts/install-onnxruntime"))
    }

    @Test("FERRY_ONNXRUNTIME_LIB names the library to load")
    func libraryFromEnvironment() throws {
        let arguments = ["infer", FerryProcess.fixture("identity_bool.onnx"), "--data", "-"]
        let body = Data(#"{"inputs":[{"name":"x","shape":[1,3],"datatype":"BOOL","data":[true,false,true]}]}"#.utf8)
        let missing = try FerryProcess.run(arguments, stdin: body, environment: ["FERRY_ONNXRUNTIME_LIB": "/nonexistent/lib.so"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("/nonexistent/lib.so (FERRY_ONNXRUNTIME_LIB)"))

        let library = FerryProcess.repositoryRoot.appendingPathComponent(".deps/onnxruntime/lib/libonnxruntime.so.1.31.1").path
        let found = try FerryProcess.run(arguments, stdin: body, environment: ["FERRY_ONNXRUNTIME_LIB": library])
        #expect(found.status == 0, "\(found.stderr)")
        #expect(found.stdout.contains(#""data":[true,false,true]"#))
    }
}

@Suite("ferry infer on every fixture")
struct InferEveryFixtureTests {
    static let cases: [(model: String, name: String, request: JSONValue, response: JSONValue)] = {
        let directory = FerryProcess.repositoryRoot.appendingPathComponent("Tests/Fixtures/models")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".cases.json") }
            .sorted()
        return files.flatMap { file -> [(String, String, JSONValue, JSONValue)] in
            guard let document = try? JSONParser.parse(Data(contentsOf: directory.appendingPathComponent(file))) else { return [] }
            let model = String(file.dropLast(".cases.json".count))
            return (document["cases"]?.arrayValue ?? []).map { entry in
                (model, entry["name"]?.stringValue ?? "?", entry["request"] ?? .null, entry["response"] ?? .null)
            }
        }
    }()

    @Test("every fixture case answers with the reference outputs' names, datatypes, shapes and data")
    func everyCase() throws {
        #expect(Self.cases.count >= 60)
        for (model, name, request, response) in Self.cases {
            var writer = JSONWriter()
            writer.value(request)
            let result = try FerryProcess.run(["infer", FerryProcess.fixture("\(model).onnx"), "--data", "-"], stdin: writer.data)
            #expect(result.status == 0, "\(model)/\(name): \(result.stderr)")
            let outputs = try JSONParser.parse(result.stdout)["outputs"]?.arrayValue ?? []
            let expected = response["outputs"]?.arrayValue ?? []
            #expect(outputs.map { $0["name"] } == expected.map { $0["name"] }, "\(model)/\(name)")
            #expect(outputs.map { $0["datatype"] } == expected.map { $0["datatype"] }, "\(model)/\(name)")
            #expect(outputs.map { $0["shape"] } == expected.map { $0["shape"] }, "\(model)/\(name)")
            for (actual, reference) in zip(outputs, expected) {
                try expectSameData(actual, reference, "\(model)/\(name)")
            }
        }
    }

    /// Data read back into the output's datatype must be identical (JSON
    /// text may differ: 0.1 vs 0.10000000149011612 are the same float32).
    func expectSameData(_ actual: JSONValue, _ reference: JSONValue, _ label: String) throws {
        guard case .string(let typeName)? = reference["datatype"], case .array(let dims)? = reference["shape"] else { return }
        let datatype = try DataType(v2Name: typeName)
        let shape = TensorShape(dims.compactMap { if case .number(let n) = $0 { Int(n) } else { nil } })
        if datatype == .bytes, case .array(let rows)? = reference["data"], rows.contains(where: { $0.stringValue?.hasPrefix("{") ?? false })
        {
            // ZipMap rows: compare parsed maps; float32 values read as float32.
            let actualRows = actual["data"]?.arrayValue ?? []
            for (row, expectedRow) in zip(actualRows, rows) {
                let a = try JSONParser.parse(row.stringValue ?? "")
                let e = try JSONParser.parse(expectedRow.stringValue ?? "")
                guard case .object(let am) = a, case .object(let em) = e else { continue }
                #expect(Set(am.keys) == Set(em.keys), "\(label)")
                for (key, value) in em {
                    if case .number(let ev) = value, case .number(let av)? = am[key] {
                        #expect(Float(av)?.bitPattern == Float(ev)?.bitPattern, "\(label) map[\(key)]")
                    }
                }
            }
            return
        }
        let got = try TensorJSONCoding.decode(actual["data"] ?? .null, datatype: datatype, shape: shape, tensorName: "output")
        let want = try TensorJSONCoding.decode(reference["data"] ?? .null, datatype: datatype, shape: shape, tensorName: "output")
        #expect(got == want, "\(label): \(reference["name"]?.stringValue ?? "")")
    }
}
