import Crypto
import FerryCore
import Foundation
import Testing

/// `ferry convert` with the real frameworks: each source model is converted,
/// verified, served by `ferry serve`, and the served answers are compared
/// with what the source framework itself computed.
@Suite("ferry convert", .serialized)
struct ConvertCommandTests {
    struct Converted {
        var repository: String
        var report: JSONValue
        var inputNames: [String] { inputs.map(\.name) }
        var inputs: [(name: String, datatype: String)] {
            (report["signature"]?["inputs"]?.arrayValue ?? []).map { ($0["name"]?.stringValue ?? "", $0["datatype"]?.stringValue ?? "") }
        }
        var outputNames: [String] { (report["signature"]?["outputs"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue } }
    }

    /// Converts and checks the report's verdict and the files written.
    func convert(_ source: String, name: String, _ arguments: [String] = []) throws -> Converted {
        let repository = ConvertRun.temporaryRepository()
        let result = try ConvertRun.run(["convert", source, "--repository", repository, "--name", name] + arguments)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("verdict: pass"), "\(result.stdout)")
        let report = try JSONParser.parse(try Data(contentsOf: URL(fileURLWithPath: "\(repository)/\(name)/1/conversion.json")))
        #expect(report["verdict"] == .string("pass"))
        #expect(FileManager.default.fileExists(atPath: "\(repository)/\(name)/1/model.onnx"))
        #expect(FileManager.default.fileExists(atPath: "\(repository)/\(name)/config.pbtxt"))
        return Converted(repository: repository, report: report)
    }

    /// Serves the repository and checks HTTP and gRPC answers against the source framework's.
    func serveAndCompare(_ converted: Converted, name: String, check: String, atol: Double = 1e-4, rtol: Double = 1e-3) async throws {
        let server = try ServerProcess(models: [], repository: URL(fileURLWithPath: converted.repository))
        defer { _ = server.terminate(keepRepository: true) }
        let http = try await server.port("HTTP/REST listening")
        let grpc = try await server.port("gRPC listening")
        try await server.waitUntilModelsReady(count: 1)
        let source = try SourceCheck(file: check)
        let request = try source.request(signature: converted.inputs)
        for target in ["http://127.0.0.1:\(http)", "grpc://127.0.0.1:\(grpc)"] {
            let answer = try FerryProcess.run(["infer", target, "--model", name, "--data", request])
            #expect(answer.status == 0, "\(target): \(answer.stderr)")
            let response = try JSONParser.parse(answer.stdout)
            let problems = source.mismatches(response: response, outputNames: converted.outputNames, atol: atol, rtol: rtol)
            #expect(problems.isEmpty, "\(target): \(problems)")
        }
    }

    @Test("torchvision resnet18 (TorchScript) converts with a dynamic batch and serves what PyTorch computes")
    func resnet18() async throws {
        let sources = try ConvertSources.directory("pytorch")
        let converted = try convert(sources + "/resnet18.pt", name: "resnet18", ["--input", "image:1,3,224,224", "--output-names", "logits"])
        #expect(converted.inputNames == ["image"])
        #expect(converted.outputNames == ["logits"])
        #expect(converted.report["signature"]?["dynamic_batch"] == .bool(true))
        #expect(converted.report["source"]?["format"] == .string("torchscript"))
        let config = try String(contentsOfFile: converted.repository + "/resnet18/config.pbtxt", encoding: .utf8)
        #expect(config.contains("max_batch_size: 8\n"))
        #expect(config.contains("dims: [ 3, 224, 224 ]"))
        let cases = converted.report["cases"]?.arrayValue ?? []
        #expect(cases.count == 2)
        #expect(cases.compactMap { $0["batch"] } == [.number("1"), .number("3")])
        try await serveAndCompare(converted, name: "resnet18", check: sources + "/resnet18.check.json")

        // The converted ONNX model, quantized: the report gives the accuracy
        // delta and the measured speed-up; the served model is the int8 one.
        let quantized = try convert(
            converted.repository + "/resnet18/1/model.onnx", name: "resnet18_int8", ["--quantize", "int8", "--optimize"])
        let quantize = try #require(quantized.report["quantize"])
        #expect(quantize["mode"] == .string("dynamic"))
        if case .number(let speedup) = quantize["speedup"] { #expect(Double(speedup)! > 0) } else { Issue.record("no speedup") }
        #expect(quantized.report["model"]?["quantized"] == .string("int8"))
    }

    @Test("a module with two inputs and two outputs: as an ExportedProgram and as --module with safetensors weights")
    func twoInputsTwoOutputs() async throws {
        let sources = try ConvertSources.directory("pytorch")
        let exported = try convert(sources + "/two_io.pt2", name: "two_io", ["--output-names", "total,scaled"])
        #expect(exported.inputNames.count == 2)
        #expect(exported.outputNames == ["total", "scaled"])
        try await serveAndCompare(exported, name: "two_io", check: sources + "/two_io.check.json")

        let module = try convert(
            sources + "/two_io.safetensors", name: "two_io_module",
            ["--module", "two_io_module:build", "--input", "x:1,8", "--input", "y:1,4", "--exporter", "torchscript"])
        #expect(module.inputNames == ["x", "y"])
        #expect(module.report["source"]?["format"] == .string("module"))
        try await serveAndCompare(module, name: "two_io_module", check: sources + "/two_io.check.json")

        // --static-batch keeps the example's batch: every dimension fixed, max_batch_size 0.
        let fixed = try convert(sources + "/two_io.pt2", name: "two_io_fixed", ["--static-batch", "--input", "x:4,8", "--input", "y:4,4"])
        #expect(fixed.report["signature"]?["dynamic_batch"] == .bool(false))
        let config = try String(contentsOfFile: fixed.repository + "/two_io_fixed/config.pbtxt", encoding: .utf8)
        #expect(config.contains("max_batch_size: 0\n"), "\(config)")
        #expect(config.contains("dims: [ 4, 8 ]"), "\(config)")
    }

    @Test("a Keras model saved as a SavedModel converts through tf2onnx")
    func kerasSavedModel() async throws {
        let sources = try ConvertSources.directory("tensorflow")
        let converted = try convert(sources + "/keras_savedmodel", name: "keras")
        #expect(converted.report["source"]?["format"] == .string("savedmodel"))
        try await serveAndCompare(converted, name: "keras", check: sources + "/keras_savedmodel.check.json")

        // The same model as a .keras file, and a frozen graph with its tensor names.
        let keras = try convert(sources + "/keras_model.keras", name: "keras_file")
        #expect(keras.report["source"]?["format"] == .string("keras"))
        let frozen = try convert(sources + "/frozen.pb", name: "frozen", ["--inputs", "x:0", "--outputs", "y:0"])
        #expect(frozen.report["source"]?["format"] == .string("frozen_graph"))
        #expect(frozen.inputNames == ["x"])
        let unnamed = try ConvertRun.run(["convert", sources + "/frozen.pb", "--repository", ConvertRun.temporaryRepository()])
        #expect(unnamed.status == 1)
        #expect(unnamed.stderr.contains("--inputs"), "\(unnamed.stderr)")
    }

    @Test("a scikit-learn pipeline, an XGBoost and a LightGBM model convert and serve what the framework predicts")
    func treesAndPipelines() async throws {
        let sources = try ConvertSources.directory("sklearn")
        for name in ["pipeline", "xgb", "lgbm"] {
            let converted = try convert(sources + "/\(name).joblib", name: name)
            try await serveAndCompare(converted, name: name, check: sources + "/\(name).check.json")
        }
    }

    @Test("an export that changes the numerics fails with the table and writes nothing; --allow-mismatch adds it marked fail")
    func mismatchIsCaught() throws {
        let sources = try ConvertSources.directory("pytorch")
        let repository = ConvertRun.temporaryRepository()
        let arguments = ["convert", sources + "/drifting.pt", "--repository", repository, "--input", "x:1,64", "--exporter", "torchscript"]
        let failed = try ConvertRun.run(arguments)
        #expect(failed.status == 1)
        #expect(failed.stdout.contains("FAIL"), "\(failed.stdout)")
        #expect(failed.stderr.contains("verification failed, so nothing was written to \(repository)"), "\(failed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: repository + "/drifting"))

        let allowed = try ConvertRun.run(arguments + ["--allow-mismatch"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        let report = try JSONParser.parse(try Data(contentsOf: URL(fileURLWithPath: repository + "/drifting/1/conversion.json")))
        #expect(report["verdict"] == .string("fail"))
    }

    @Test("bad input gets one sentence, exit 1, and leaves the repository untouched")
    func badInput() throws {
        let sources = try ConvertSources.directory("pytorch")
        let repository = ConvertRun.temporaryRepository()
        let unknown = FileManager.default.temporaryDirectory.appendingPathComponent("weights-\(UUID().uuidString).bin").path
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: unknown))
        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("garbage-\(UUID().uuidString).pt").path
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }).write(to: URL(fileURLWithPath: garbage))
        let cases: [([String], String)] = [
            (["/nonexistent/model.pt"], "ferry: no file or directory at /nonexistent/model.pt\n"),
            ([unknown], "ferry: cannot tell what kind of model \(unknown) is from its name; give --from"),
            ([sources + "/two_io.safetensors"], "holds weights only: give --module package.module:factory"),
            ([sources + "/two_io.safetensors", "--module", "no_such_package.models:build", "--input", "x:1,8"], "no_such_package"),
            ([sources + "/resnet18.pt", "--input", "image:1,3,x"], "'x' is not a dimension"),
        ]
        let sklearn = try ConvertSources.directory("sklearn")
        let frameworkCases: [([String], String)] = [
            ([garbage, "--input", "x:1,4"], "is not a PyTorch archive"),
            ([sources + "/two_io.pth", "--input", "x:1,8"], "holds a state_dict or pickled module, not TorchScript: pass --module"),
            ([sources + "/unsupported.pt", "--input", "x:1,4,4"], "No ONNX function found for <OpOverload(op='aten._linalg_eigh'"),
            ([sklearn + "/old_sklearn.joblib"], "1.3.2"),
        ]
        for (arguments, message) in cases + frameworkCases {
            let result = try ConvertRun.run(["convert"] + arguments + ["--repository", repository])
            #expect(result.status == 1, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(!result.stderr.contains("Traceback"), "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").last?.hasPrefix("ferry: ") == true, "\(arguments): \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: repository), "\(arguments) wrote into the repository")
        }

        // An existing version is refused before any work, unless --force.
        let existing = ConvertRun.temporaryRepository()
        try FileManager.default.createDirectory(atPath: existing + "/two_io/1", withIntermediateDirectories: true)
        let taken = try ConvertRun.run(["convert", sources + "/two_io.pt2", "--repository", existing])
        #expect(taken.status == 1)
        #expect(taken.stderr == "ferry: \(existing)/two_io/1 already exists: choose another --version, or --force to replace it\n")
    }

    @Test("the environment is created once; a second conversion reuses it without the network")
    func environmentReuse() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-convert-cache-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let model = FerryProcess.fixture("mlp.onnx")
        let first = try ConvertRun.run(["convert", model, "--repository", ConvertRun.temporaryRepository(), "--cache-dir", cache])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("creating the onnx environment in \(cache)/onnx-"))
        // Every way pip could reach a package index points at a closed port now.
        let offline = ["PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_FIND_LINKS": "", "http_proxy": "http://127.0.0.1:9",
            "https_proxy": "http://127.0.0.1:9", "PIP_NO_INDEX": "1"]
        let second = try ConvertRun.run(
            ["convert", model, "--repository", ConvertRun.temporaryRepository(), "--cache-dir", cache], environment: offline)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(!second.stderr.contains("creating the"))
        let environments = try FileManager.default.contentsOfDirectory(atPath: cache).filter { !$0.hasSuffix(".log") }
        #expect(environments.count == 1 && environments[0].hasPrefix("onnx-"), "\(environments)")
    }

    @Test("ferry inspect shows the conversion report; ferry build labels the image with its digest and verdict")
    func inspectAndBuild() throws {
        let converted = try convert(FerryProcess.fixture("mlp.onnx"), name: "mlp")
        let inspect = try FerryProcess.run(["inspect", converted.repository + "/mlp"])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(inspect.stdout.contains("Conversion (\(converted.repository)/mlp/1/conversion.json): verdict pass"), "\(inspect.stdout)")
        #expect(inspect.stdout.contains("ferry runtime, random batch 3"), "\(inspect.stdout)")
        let inspectJSON = try JSONParser.parse(try FerryProcess.run(["inspect", converted.repository + "/mlp", "--json"]).stdout)
        #expect(inspectJSON["conversion"]?["verdict"] == .string("pass"))

        let layout = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-convert-image-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: layout) }
        let build = try FerryProcess.run(["build", converted.repository, "--output", "oci:\(layout):v1"])
        #expect(build.status == 0, "\(build.stderr)")
        let report = try Data(contentsOf: URL(fileURLWithPath: converted.repository + "/mlp/1/conversion.json"))
        let digest = "sha256:" + SHA256.hash(data: report).map { String(format: "%02x", $0) }.joined()
        let image = try JSONParser.parse(try Tool.run("skopeo", ["inspect", "oci:\(layout):v1"]).stdout)
        #expect(image["Labels"]?["dev.ferry.model.mlp.1.conversion"] == .string(digest), "\(image)")
        #expect(image["Labels"]?["dev.ferry.model.mlp.1.verdict"] == .string("pass"), "\(image)")
    }

    @Test("--sample adds a v2 JSON request to the verification; --calibration makes int8 quantization static")
    func samplesAndCalibration() throws {
        let prepared = try ConvertRun.run(["convert", "--prepare", "onnx"])
        let python = prepared.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-convert-samples-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let values = (0..<128).map { String(Double($0 % 17) / 8 - 1) }.joined(separator: ",")
        try Data(#"{"inputs":[{"name":"input","shape":[2,64],"datatype":"FP32","data":[\#(values)]}]}"#.utf8)
            .write(to: URL(fileURLWithPath: folder + "/sample.json"))
        let maker = Process()
        maker.executableURL = URL(fileURLWithPath: python)
        maker.arguments = ["-c", "import numpy as np; np.savez('\(folder)/calibration.npz', input=np.random.default_rng(7).standard_normal((32, 64)).astype(np.float32))"]
        try maker.run()
        maker.waitUntilExit()
        #expect(maker.terminationStatus == 0)

        let converted = try convert(
            FerryProcess.fixture("mlp.onnx"), name: "mlp_int8",
            ["--sample", folder + "/sample.json", "--quantize", "int8", "--calibration", folder + "/calibration.npz"])
        let cases = converted.report["cases"]?.arrayValue ?? []
        #expect(cases.count == 3, "\(cases)")
        #expect(cases.last?["source"] == .string(folder + "/sample.json"), "\(cases)")
        #expect(converted.report["quantize"]?["mode"] == .string("static"))
        #expect(converted.report["inputs_used"]?["samples"] == .array([.string(folder + "/sample.json")]))
    }
}
