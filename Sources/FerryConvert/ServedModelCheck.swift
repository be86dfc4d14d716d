import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The last check: the converted model, loaded by Ferry's own backend (the
/// library `ferry serve` runs), must give what Python's ONNX Runtime gave on
/// the same inputs. It catches what the Python side cannot see: a model the
/// served runtime refuses, an input Ferry reads differently, a datatype the
/// server maps otherwise.
public enum ServedModelCheck {
    /// One verification case as the converter saved it: inputs and Python
    /// ONNX Runtime's outputs, raw little-endian tensors beside a manifest.
    public struct Case: Sendable {
        public var name: String
        public var inputs: [Tensor]
        public var expected: [Tensor]
    }

    public struct CaseResult: Sendable {
        public var name: String
        public var outputs: [TensorComparison]
        /// The backend's error, when it could not load the model or run the case.
        public var error: String?
        public var passed: Bool { error == nil && !outputs.isEmpty && outputs.allSatisfy(\.passed) }
    }

    /// Reads `DIRECTORY/N/manifest.json` for every numbered case folder, in order.
    public static func readCases(in directory: String) throws(FerryError) -> [Case] {
        var cases: [Case] = []
        let numbers = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).compactMap { Int($0) }.sorted()
        for index in numbers where FileSystem.isRegularFile("\(directory)/\(index)/manifest.json") {
            let caseDirectory = "\(directory)/\(index)"
            guard let data = FileManager.default.contents(atPath: caseDirectory + "/manifest.json") else {
                throw FerryError(.internal, "cannot read \(caseDirectory)/manifest.json")
            }
            let manifest = try JSONParser.parse(data)
            cases.append(
                Case(
                    name: manifest["name"]?.stringValue ?? "case \(index)",
                    inputs: try tensors(manifest["inputs"], in: caseDirectory),
                    expected: try tensors(manifest["outputs"], in: caseDirectory)))
        }
        return cases
    }

    /// Runs every case through `backend` and compares with the saved outputs.
    public static func run(model path: String, cases: [Case], backend: any Backend) -> [CaseResult] {
        let session: any ModelSession
        do {
            session = try backend.loadModel(atPath: path, name: "converted")
        } catch {
            return [CaseResult(name: "load", outputs: [], error: "Ferry's \(backend.platform) backend cannot load the model: \(error.message)")]
        }
        return cases.map { testCase in
            do throws(FerryError) {
                let outputs = try session.run(testCase.inputs, outputs: testCase.expected.map { $0.name })
                let comparisons = zip(outputs, testCase.expected).map { actual, expected in
                    TensorComparison.compare(actual, expected, tolerance: .sameRuntime(expected.datatype))
                }
                return CaseResult(name: testCase.name, outputs: comparisons)
            } catch {
                return CaseResult(name: testCase.name, outputs: [], error: error.message)
            }
        }
    }

    private static func tensors(_ list: JSONValue?, in directory: String) throws(FerryError) -> [Tensor] {
        guard let entries = list?.arrayValue else { throw FerryError(.internal, "\(directory)/manifest.json lists no tensors") }
        var tensors: [Tensor] = []
        for entry in entries {
            guard let name = entry["name"]?.stringValue, let type = entry["datatype"]?.stringValue,
                let file = entry["file"]?.stringValue, let dims = entry["shape"]?.arrayValue
            else { throw FerryError(.internal, "\(directory)/manifest.json: a tensor lacks name, datatype, shape or file") }
            let shape = try dims.map { (dim: JSONValue) throws(FerryError) -> Int in
                guard case .number(let literal) = dim, let value = Int(literal) else {
                    throw FerryError(.internal, "\(directory)/manifest.json: bad dimension in '\(name)'")
                }
                return value
            }
            guard let data = FileManager.default.contents(atPath: directory + "/" + file) else {
                throw FerryError(.internal, "cannot read \(directory)/\(file)")
            }
            tensors.append(Tensor(name: name, datatype: try DataType(v2Name: type), shape: TensorShape(shape), data: data))
        }
        return tensors
    }
}
