import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension ConversionReport {
    /// `conversion.json`: the verdict first, then what was converted, with
    /// which versions, and every comparison that decided the verdict.
    public func json(options: ConversionOptions) -> Data {
        var writer = JSONWriter()
        writer.object { root in
            root.member("verdict") { $0.string(passed ? "pass" : "fail") }
            root.member("source") { source in
                source.object { object in
                    object.member("path") { $0.string(sourcePath) }
                    object.member("sha256") { $0.string(sourceDigest) }
                    object.member("framework") { $0.string(framework) }
                    object.member("format") { $0.string(format) }
                }
            }
            root.member("model") { model in
                model.object { object in
                    object.member("file") { $0.string("model.onnx") }
                    object.member("sha256") { $0.string(modelDigest) }
                    object.member("bytes") { $0.integer(modelBytes) }
                    object.member("converter") { $0.string(converter) }
                    object.member("opset") { writer in opset.map { writer.integer($0) } ?? writer.raw("null") }
                    object.member("optimized") { $0.bool(options.optimize) }
                    object.member("quantized") { writer in options.quantize.map { writer.string($0.rawValue) } ?? writer.raw("null") }
                }
            }
            root.member("versions") { $0.value(converterReport["versions"] ?? .object([:])) }
            root.member("signature") { signature in
                signature.object { object in
                    object.member("inputs") { $0.list(inputs) { $0.entry($1) } }
                    object.member("outputs") { $0.list(outputs) { $0.entry($1) } }
                    object.member("dynamic_batch") { $0.bool(dynamicBatch) }
                }
            }
            root.member("tolerances") { $0.value(converterReport["tolerances"] ?? .object([:])) }
            root.member("inputs_used") { used in
                used.object { object in
                    object.member("seed") { $0.integer(options.seed) }
                    object.member("batch_sizes") { $0.list(ConversionOptions.batchSizes(options)) { $0.integer($1) } }
                    object.member("samples") { $0.list(options.samples) { $0.string($1) } }
                }
            }
            root.member("warnings") { $0.value(converterReport["warnings"] ?? .array([])) }
            root.member("checks") { $0.value(converterReport["checks"] ?? .array([])) }
            root.member("cases") { $0.value(converterReport["cases"] ?? .array([])) }
            root.member("optimize") { $0.value(converterReport["optimize"] ?? .null) }
            root.member("quantize") { $0.value(converterReport["quantize"] ?? .null) }
            root.member("ferry_runtime") { runtime in
                runtime.object { object in
                    object.member("library") { $0.string(ferryRuntimeLibrary) }
                    object.member("compared_with") { $0.string("Python onnxruntime, same model and inputs") }
                    object.member("cases") { writer in
                        writer.list(ferryRuntime) { writer, result in
                            writer.object { object in
                                object.member("name") { $0.string(result.name) }
                                object.member("passed") { $0.bool(result.passed) }
                                if let error = result.error { object.member("error") { $0.string(error) } }
                                object.member("outputs") { $0.list(result.outputs) { $0.comparison($1) } }
                            }
                        }
                    }
                }
            }
            root.member("environment") { environmentWriter in
                environmentWriter.object { object in
                    object.member("python") { $0.string(environment?.python ?? "") }
                    object.member("created_now") { $0.bool(environment?.created ?? false) }
                    object.member("install_seconds") { writer in
                        environment?.installSeconds.map { writer.floatingPoint($0) } ?? writer.raw("null")
                    }
                }
            }
            root.member("timings_s") { timings in
                timings.object { object in
                    for key in ["load", "convert", "verify", "optimize", "quantize"] {
                        if let value = converterReport["timings_s"]?[key]?.doubleValue {
                            object.member(key) { $0.floatingPoint(value) }
                        }
                    }
                    object.member("total") { $0.floatingPoint(seconds) }
                }
            }
        }
        return Data(JSONPrettyPrinter.format(writer.bytes))
    }
}

extension JSONWriter {
    fileprivate mutating func entry(_ entry: ConversionReport.TensorEntry) {
        object { object in
            object.member("name") { $0.string(entry.name) }
            object.member("datatype") { $0.string(entry.datatype.rawValue) }
            object.member("dims") { $0.list(entry.dims) { $0.integer($1) } }
        }
    }

    fileprivate mutating func comparison(_ comparison: TensorComparison) {
        object { object in
            object.member("name") { $0.string(comparison.name) }
            object.member("max_abs") { $0.floatingPoint(comparison.maxAbsolute) }
            object.member("max_rel") { $0.floatingPoint(comparison.maxRelative) }
            object.member("atol") { $0.floatingPoint(comparison.absoluteTolerance) }
            object.member("rtol") { $0.floatingPoint(comparison.relativeTolerance) }
            object.member("passed") { $0.bool(comparison.passed) }
            if let problem = comparison.problem { object.member("problem") { $0.string(problem) } }
        }
    }
}

extension ConversionOptions {
    /// Batch sizes of the random cases: 1 and an odd size, so a dynamic batch
    /// dimension is exercised beyond 1; the given batch alone when it is static.
    static func batchSizes(_ options: ConversionOptions) -> [Int] {
        if options.staticBatch, let batch = options.inputs.first?.dims.first { return [batch] }
        return [1, 3]
    }
}

extension ConversionReport {
    /// A report read back from `conversion.json` (for `ferry inspect`).
    public init(conversionJSON data: Data) throws(FerryError) {
        let document = try JSONParser.parse(data)
        var flattened: [String: JSONValue] = [:]
        if case .object(let members) = document { flattened = members }
        flattened["framework"] = document["source"]?["framework"]
        flattened["format"] = document["source"]?["format"]
        flattened["converter"] = document["model"]?["converter"]
        flattened["opset"] = document["model"]?["opset"]
        flattened["inputs"] = document["signature"]?["inputs"]
        flattened["outputs"] = document["signature"]?["outputs"]
        flattened["dynamic_batch"] = document["signature"]?["dynamic_batch"]
        try self.init(converterReport: .object(flattened))
        sourcePath = document["source"]?["path"]?.stringValue ?? ""
        sourceDigest = document["source"]?["sha256"]?.stringValue ?? ""
        modelDigest = document["model"]?["sha256"]?.stringValue ?? ""
        modelBytes = document["model"]?["bytes"]?.intValue ?? 0
        ferryRuntimeLibrary = document["ferry_runtime"]?["library"]?.stringValue ?? ""
        ferryRuntime = (document["ferry_runtime"]?["cases"]?.arrayValue ?? []).map { entry in
            let outputs = Self.cases(.array([entry])).first?.outputs ?? []
            return ServedModelCheck.CaseResult(name: entry["name"]?.stringValue ?? "case", outputs: outputs, error: entry["error"]?.stringValue)
        }
        seconds = document["timings_s"]?["total"]?.doubleValue ?? 0
    }
}
