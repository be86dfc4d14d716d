import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a conversion did and found: the converter's own report (versions,
/// signature, checks, source-vs-ONNX comparisons, optimization and
/// quantization) plus what Ferry adds (the source's digest, the check
/// through Ferry's own runtime, the verdict). Written as `conversion.json`
/// beside the model and printed as a table.
public struct ConversionReport: Sendable {
    public struct TensorEntry: Sendable, Equatable {
        public var name: String
        public var datatype: DataType
        /// -1 for a dynamic dimension, the batch included.
        public var dims: [Int]
    }

    public struct Check: Sendable {
        public var name: String
        public var passed: Bool
        public var detail: String
    }

    public struct Case: Sendable {
        public var name: String
        public var outputs: [TensorComparison]
        public var passed: Bool { !outputs.isEmpty && outputs.allSatisfy(\.passed) }
    }

    /// The converter's report.json as it wrote it.
    public var converterReport: JSONValue
    public var framework: String
    public var format: String
    public var converter: String
    public var opset: Int?
    public var inputs: [TensorEntry]
    public var outputs: [TensorEntry]
    public var dynamicBatch: Bool
    public var checks: [Check]
    public var cases: [Case]
    public var optimizedCases: [Case]
    /// Quantized against float: reported, judged only by the converter's own rule.
    public var quantizedCases: [Case]
    public var quantizationPassed: Bool?

    // Added by Ferry.
    public var sourcePath: String = ""
    public var sourceDigest: String = ""
    public var modelDigest: String = ""
    public var modelBytes: Int = 0
    public var ferryRuntime: [ServedModelCheck.CaseResult] = []
    public var ferryRuntimeLibrary: String = ""
    public var environment: ConverterEnvironment?
    public var seconds: Double = 0

    public var passed: Bool {
        checks.allSatisfy(\.passed) && !cases.isEmpty && cases.allSatisfy(\.passed) && optimizedCases.allSatisfy(\.passed)
            && quantizationPassed != false && !ferryRuntime.isEmpty && ferryRuntime.allSatisfy(\.passed)
    }

    public init(converterReport report: JSONValue) throws(FerryError) {
        converterReport = report
        framework = report["framework"]?.stringValue ?? "unknown"
        format = report["format"]?.stringValue ?? "unknown"
        converter = report["converter"]?.stringValue ?? "unknown"
        opset = report["opset"]?.intValue
        inputs = try Self.entries(report["inputs"], "inputs")
        outputs = try Self.entries(report["outputs"], "outputs")
        dynamicBatch = report["dynamic_batch"]?.boolValue ?? false
        checks = (report["checks"]?.arrayValue ?? []).map {
            Check(name: $0["name"]?.stringValue ?? "check", passed: $0["passed"]?.boolValue ?? false, detail: $0["detail"]?.stringValue ?? "")
        }
        cases = Self.cases(report["cases"])
        optimizedCases = Self.cases(report["optimize"]?["cases"])
        quantizedCases = Self.cases(report["quantize"]?["cases"])
        quantizationPassed = report["quantize"]?["passed"]?.boolValue
    }

    private static func entries(_ list: JSONValue?, _ what: String) throws(FerryError) -> [TensorEntry] {
        guard let list = list?.arrayValue, !list.isEmpty else {
            throw FerryError(.internal, "the converter's report lists no \(what)")
        }
        var entries: [TensorEntry] = []
        for entry in list {
            guard let name = entry["name"]?.stringValue, let type = entry["datatype"]?.stringValue, let dims = entry["dims"]?.arrayValue
            else { throw FerryError(.internal, "the converter's report has a malformed entry in \(what)") }
            entries.append(TensorEntry(name: name, datatype: try DataType(v2Name: type), dims: dims.map { $0.intValue ?? -1 }))
        }
        return entries
    }

    static func cases(_ list: JSONValue?) -> [Case] {
        (list?.arrayValue ?? []).map { entry in
            Case(
                name: entry["name"]?.stringValue ?? "case",
                outputs: (entry["outputs"]?.arrayValue ?? []).map { output in
                    TensorComparison(
                        name: output["name"]?.stringValue ?? "output",
                        maxAbsolute: output["max_abs"]?.doubleValue ?? .infinity,
                        maxRelative: output["max_rel"]?.doubleValue ?? .infinity,
                        absoluteTolerance: output["atol"]?.doubleValue ?? 0,
                        relativeTolerance: output["rtol"]?.doubleValue ?? 0,
                        passed: output["passed"]?.boolValue ?? false,
                        argmaxAgreement: output["argmax_agreement"]?.doubleValue,
                        top5Agreement: output["top5_agreement"]?.doubleValue,
                        problem: output["problem"]?.stringValue)
                })
        }
    }
}

extension JSONValue {
    var doubleValue: Double? {
        if case .number(let literal) = self { return Double(literal) }
        return nil
    }

    var intValue: Int? {
        if case .number(let literal) = self { return Int(literal) ?? Double(literal).flatMap { Int(exactly: $0) } }
        return nil
    }

    var boolValue: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }
}
