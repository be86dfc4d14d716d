import FerryCore
import Foundation
import Synchronization

/// Source models for `ferry convert`'s tests, made by
/// Tests/Fixtures/convert/make_source_models.py in the very environment
/// `ferry convert` creates for the framework, once per test run.
enum ConvertSources {
    /// Environments live under .deps/ (kept out of git): created by the first
    /// test that needs one, reused by every later test and later runs.
    static let cache = FerryProcess.repositoryRoot.appendingPathComponent(".deps/convert").path

    private static let made = Mutex<[String: String]>([:])

    /// The folder holding `framework`'s source models; made on first use.
    static func directory(_ framework: String) throws -> String {
        try made.withLock { made in
            if let directory = made[framework] { return directory }
            let prepared = try ConvertRun.run(["convert", "--prepare", framework])
            guard prepared.status == 0 else { throw FerryError(.internal, "ferry convert --prepare \(framework): \(prepared.stderr)") }
            let python = prepared.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-convert-sources-\(framework)-\(UUID().uuidString)").path
            let maker = Process()
            maker.executableURL = URL(fileURLWithPath: python)
            maker.arguments = [FerryProcess.repositoryRoot.appendingPathComponent("Tests/Fixtures/convert/make_source_models.py").path, framework, directory]
            maker.currentDirectoryURL = FerryProcess.repositoryRoot
            maker.environment = ProcessInfo.processInfo.environment.merging(["TF_CPP_MIN_LOG_LEVEL": "3"]) { $1 }
            try maker.run()
            maker.waitUntilExit()
            guard maker.terminationStatus == 0 else { throw FerryError(.internal, "make_source_models.py \(framework) failed") }
            made[framework] = directory
            return directory
        }
    }
}

/// Runs `ferry convert` (and other commands) with the test cache; standard
/// error goes to a file, since pip's and the converter's progress can fill a pipe.
enum ConvertRun {
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> FerryProcess.Result {
        let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-convert-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorFile) }
        let process = Process()
        process.executableURL = FerryProcess.executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["FERRY_CONVERT_CACHE": ConvertSources.cache]) { $1 }
            .merging(environment) { $1 }
        process.currentDirectoryURL = FerryProcess.repositoryRoot
        let out = Pipe()
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: errorFile)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return FerryProcess.Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "")
    }

    static func temporaryRepository() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ferry-convert-repo-\(UUID().uuidString)").path
    }
}

/// What the source framework itself answered for one input, written by
/// make_source_models.py as `NAME.check.json`: positional inputs and outputs.
struct SourceCheck {
    struct Tensor {
        var shape: [Int]
        var datatype: String
        var data: [JSONValue]
    }

    var inputs: [Tensor]
    var outputs: [Tensor]

    init(file: String) throws {
        let document = try JSONParser.parse(try Data(contentsOf: URL(fileURLWithPath: file)))
        func tensors(_ key: String) -> [Tensor] {
            (document[key]?.arrayValue ?? []).map { entry in
                Tensor(
                    shape: (entry["shape"]?.arrayValue ?? []).compactMap { if case .number(let n) = $0 { Int(n) } else { nil } },
                    datatype: entry["datatype"]?.stringValue ?? "FP32", data: entry["data"]?.arrayValue ?? [])
            }
        }
        inputs = tensors("inputs")
        outputs = tensors("outputs")
    }

    /// A v2 JSON request giving the inputs the converted model's names and
    /// datatypes (a converter may choose FP64 inputs where FP32 would lose precision).
    func request(signature: [(name: String, datatype: String)]) throws -> String {
        var writer = JSONWriter()
        writer.object { object in
            object.member("inputs") { list in
                list.list(zip(signature, inputs)) { writer, pair in
                    writer.object { tensor in
                        tensor.member("name") { $0.string(pair.0.name) }
                        tensor.member("shape") { $0.list(pair.1.shape) { $0.integer($1) } }
                        tensor.member("datatype") { $0.string(pair.0.datatype) }
                        tensor.member("data") { $0.list(pair.1.data) { $0.value($1) } }
                    }
                }
            }
        }
        return try FerryProcess.requestFile(String(decoding: writer.bytes, as: UTF8.self))
    }

    /// Whether a served v2 response's outputs (in the converted model's
    /// order) agree with the source framework within the report's tolerances.
    func mismatches(response: JSONValue, outputNames: [String], atol: Double = 1e-4, rtol: Double = 1e-3) -> [String] {
        var problems: [String] = []
        let served = response["outputs"]?.arrayValue ?? []
        for (name, expected) in zip(outputNames, outputs) {
            guard let output = served.first(where: { $0["name"]?.stringValue == name }), let values = output["data"]?.arrayValue else {
                problems.append("\(name): not in the response")
                continue
            }
            let got = values.map(Self.number)
            let want = expected.data.map(Self.number)
            guard got.count == want.count else {
                problems.append("\(name): \(got.count) values, the source framework gave \(want.count)")
                continue
            }
            let exact = !["FP16", "BF16", "FP32", "FP64"].contains(expected.datatype)
            for (index, (a, e)) in zip(got, want).enumerated() where exact ? a != e : abs(a - e) > atol + rtol * abs(e) {
                problems.append("\(name)[\(index)]: served \(a), source \(e)")
                break
            }
        }
        return problems
    }

    private static func number(_ value: JSONValue) -> Double {
        switch value {
        case .number(let literal): Double(literal) ?? .nan
        case .bool(let flag): flag ? 1 : 0
        default: .nan
        }
    }
}
