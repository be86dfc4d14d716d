import FerryCore
import FerryONNXRuntime
import Foundation
import Testing

/// The committed fixture models and their reference cases, written by
/// scripts/make-test-models.py with Python onnxruntime 1.31.1.
enum Fixtures {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let modelsDirectory = repositoryRoot.appendingPathComponent("Tests/Fixtures/models")

    static func path(_ file: String) -> String { modelsDirectory.appendingPathComponent(file).path }

    /// Every `NAME.cases.json`, by model name.
    static let caseFiles: [String] = {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: modelsDirectory.path)) ?? []
        return files.filter { $0.hasSuffix(".cases.json") }.map { String($0.dropLast(".cases.json".count)) }.sorted()
    }()

    static func document(_ model: String) throws -> JSONValue {
        try JSONParser.parse(Data(contentsOf: modelsDirectory.appendingPathComponent("\(model).cases.json")))
    }

    static func runtime() throws -> ONNXRuntime {
        try ONNXRuntime.load(libraryPath: repositoryRoot.appendingPathComponent(".deps/onnxruntime/lib/libonnxruntime.so.1.31.1").path)
    }

    static func session(_ model: String, options: ONNXRuntimeOptions = ONNXRuntimeOptions()) throws -> ONNXRuntimeSession {
        try ONNXRuntimeSession(runtime: runtime(), path: path("\(model).onnx"), name: model, options: options)
    }
}

/// A reference case: the request and what Python onnxruntime answered.
struct FixtureCase: CustomTestStringConvertible, Sendable {
    let model: String
    let name: String
    let request: JSONValue
    let response: JSONValue

    var testDescription: String { "\(model)/\(name)" }

    /// Cases of every file that parses; `fixtureFilesParse` fails for any that does not.
    static let all: [FixtureCase] = Fixtures.caseFiles.flatMap { model -> [FixtureCase] in
        guard let document = try? Fixtures.document(model), let cases = document["cases"]?.arrayValue else { return [] }
        return cases.map { entry in
            FixtureCase(
                model: model,
                name: entry["name"]?.stringValue ?? "?",
                request: entry["request"] ?? .null,
                response: entry["response"] ?? .null
            )
        }
    }
}
