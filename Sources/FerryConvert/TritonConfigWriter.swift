import FerryCore

/// `config.pbtxt` for a converted model, in Triton's text format, so Triton
/// itself and `ferry serve` read the same file: the names the user gave, and
/// `max_batch_size` with dims after the batch when the batch is dynamic.
public enum TritonConfigWriter {
    public static func text(name: String, report: ConversionReport, maxBatchSize: Int) -> String {
        var text = "name: \(quoted(name))\nplatform: \"onnxruntime_onnx\"\n"
        text += "max_batch_size: \(report.dynamicBatch ? maxBatchSize : 0)\n"
        func section(_ key: String, _ entries: [ConversionReport.TensorEntry]) {
            text += "\(key) [\n"
            for (index, entry) in entries.enumerated() {
                let dims = report.dynamicBatch ? Array(entry.dims.dropFirst()) : entry.dims
                text += "  {\n    name: \(quoted(entry.name))\n    data_type: \(tritonType(entry.datatype))\n"
                text += "    dims: [ \(dims.map(String.init).joined(separator: ", ")) ]\n  }\(index == entries.count - 1 ? "" : ",")\n"
            }
            text += "]\n"
        }
        section("input", report.inputs)
        section("output", report.outputs)
        // A converted model with a dynamic batch is there to be batched; the
        // queue delay stays 0 (batch what is waiting, never hold a request).
        if report.dynamicBatch { text += "dynamic_batching { }\n" }
        return text
    }

    static func tritonType(_ type: DataType) -> String {
        type == .bytes ? "TYPE_STRING" : "TYPE_" + type.rawValue
    }

    static func quoted(_ text: String) -> String {
        var result = "\""
        for character in text {
            switch character {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            default: result.append(character)
            }
        }
        return result + "\""
    }
}
