import FerryCore

extension ConversionReport {
    /// The report as `ferry convert` and `ferry inspect` print it: one row per
    /// check and per compared output, the verdict last.
    public var table: String {
        var rows: [[String]] = [["check", "output", "max abs", "max rel", "tolerance", "result"]]
        for check in checks {
            rows.append([check.name, "", "", "", "", check.passed ? "pass" : "FAIL" + (check.detail.isEmpty ? "" : ": " + check.detail)])
        }
        func add(_ cases: [Case], prefix: String, judged: Bool = true) {
            for testCase in cases {
                for output in testCase.outputs { rows.append(row(prefix + testCase.name, output, judged: judged)) }
            }
        }
        add(cases, prefix: "")
        add(optimizedCases, prefix: "optimized, ")
        add(quantizedCases, prefix: "int8 vs float, ", judged: false)
        for result in ferryRuntime {
            if let error = result.error {
                rows.append(["ferry runtime, " + result.name, "", "", "", "", "FAIL: " + error])
            }
            for output in result.outputs { rows.append(row("ferry runtime, " + result.name, output, judged: true)) }
        }

        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) } }
        var text = ""
        for row in rows {
            let cells = row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }
            text += "  " + cells.joined(separator: "  ") + "\n"
        }
        if let optimize = converterReport["optimize"], case .object = optimize,
            let originalLoad = optimize["original_load_s"]?.doubleValue, let optimizedLoad = optimize["optimized_load_s"]?.doubleValue,
            let original = optimize["original_latency_ms"]?.doubleValue, let optimized = optimize["optimized_latency_ms"]?.doubleValue
        {
            text += "  optimized: loads in \((optimizedLoad * 1000).fixed(0)) ms (converted: \((originalLoad * 1000).fixed(0)) ms), "
            text += "runs in \(optimized.fixed(2)) ms at batch 1 (converted: \(original.fixed(2)) ms)\n"
        }
        if let quantize = converterReport["quantize"], case .object = quantize {
            let speedup = quantize["speedup"]?.doubleValue.map { $0.fixed(2) + "×" } ?? "?"
            let float = quantize["float_latency_ms"]?.doubleValue.map { $0.fixed(2) } ?? "?"
            let quantized = quantize["quantized_latency_ms"]?.doubleValue.map { $0.fixed(2) } ?? "?"
            let mode = quantize["mode"]?.stringValue ?? ""
            text += "  int8 (\(mode)): speed-up \(speedup) in process at batch 1 (float \(float) ms, int8 \(quantized) ms)"
            if let floatBytes = quantize["float_size_bytes"]?.doubleValue, let quantizedBytes = quantize["quantized_size_bytes"]?.doubleValue {
                text += ", \((floatBytes / 1e6).fixed(1)) MB → \((quantizedBytes / 1e6).fixed(1)) MB"
            }
            text += "\n"
            if let note = quantize["note"]?.stringValue, !note.isEmpty { text += "  note: \(note)\n" }
        }
        for warning in converterReport["warnings"]?.arrayValue ?? [] {
            if let warning = warning.stringValue { text += "  warning: \(warning)\n" }
        }
        return text
    }

    /// One line naming the model: `pytorch torchscript → torch.onnx.export (dynamo), opset 18`.
    public var summary: String {
        let signature = { (entries: [TensorEntry]) in
            entries.map { "\($0.name) \($0.datatype.rawValue) [\($0.dims.map { $0 < 0 ? "-1" : String($0) }.joined(separator: ","))]" }
                .joined(separator: ", ")
        }
        var versions: [String] = []
        if case .object(let members) = converterReport["versions"] ?? .null {
            // "converter" and "framework" repeat the lines around them.
            for key in members.keys.sorted() where key != "converter" && key != "framework" {
                if let value = members[key]?.stringValue { versions.append("\(key) \(value)") }
            }
        }
        return """
              source     \(framework) \(format), sha256:\(sourceDigest.prefix(16))…
              converter  \(converter)\(opset.map { ", opset \($0)" } ?? "")
              versions   \(versions.joined(separator: ", "))
              inputs     \(signature(inputs))
              outputs    \(signature(outputs))

            """
    }

    private func row(_ name: String, _ output: TensorComparison, judged: Bool) -> [String] {
        var result = output.passed || !judged ? (judged ? "pass" : "") : "FAIL"
        if let problem = output.problem { result += (result.isEmpty ? "" : ": ") + problem }
        if let argmax = output.argmaxAgreement { result += (result.isEmpty ? "" : ", ") + "argmax \((argmax * 100).fixed(1))%" }
        if let top5 = output.top5Agreement { result += ", top-5 \((top5 * 100).fixed(1))%" }
        let tolerance =
            !judged
            ? "" : output.absoluteTolerance == 0 && output.relativeTolerance == 0
                ? "exact" : "atol \(output.absoluteTolerance.scientific) rtol \(output.relativeTolerance.scientific)"
        return [name, output.name, output.maxAbsolute.scientific, output.maxRelative.scientific, tolerance, result]
    }
}

extension Double {
    /// `1.2e-06` style, as NumPy prints errors; exact 0 as `0`.
    var scientific: String {
        guard isFinite else { return isNaN ? "nan" : "inf" }
        guard self != 0 else { return "0" }
        var exponent = Int((Swift.abs(self)).log10Floor)
        var mantissa = self / pow10(exponent)
        if Swift.abs(mantissa).fixed(1) == "10.0" {
            exponent += 1
            mantissa /= 10
        }
        let sign = exponent < 0 ? "-" : "+"
        let digits = String(Swift.abs(exponent))
        return mantissa.fixed(1) + "e" + sign + (digits.count < 2 ? "0" : "") + digits
    }

    private var log10Floor: Double {
        var exponent = 0.0
        var value = self
        while value >= 10 { value /= 10; exponent += 1 }
        while value < 1 { value *= 10; exponent -= 1 }
        return exponent
    }

    private func pow10(_ exponent: Int) -> Double {
        var result = 1.0
        for _ in 0..<Swift.abs(exponent) { result *= 10 }
        return exponent < 0 ? 1 / result : result
    }
}
