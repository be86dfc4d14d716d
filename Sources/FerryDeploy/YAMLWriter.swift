/// Writes `ManifestNode`s as block-style YAML that Kubernetes, Docker
/// Compose and any YAML 1.1 or 1.2 reader load as the same values: strings
/// that a reader could take for something else (`"8002"`, `"true"`, `"on"`,
/// `"1e3"`, `"~"`, `""`, a leading `*` or `-`, a `: ` or ` #` inside) are quoted.
public enum YAMLWriter {
    /// One document per node, separated by `---`; each starts with its `comment` lines (`# …`) when given.
    public static func documents(_ nodes: [ManifestNode], comments: [String?] = []) -> String {
        var text = ""
        for (index, node) in nodes.enumerated() {
            if index > 0 { text += "---\n" }
            if index < comments.count, let comment = comments[index] {
                for line in comment.split(separator: "\n", omittingEmptySubsequences: false) {
                    text += line.isEmpty ? "#\n" : "# \(line)\n"
                }
            }
            text += document(node)
        }
        return text
    }

    public static func document(_ node: ManifestNode) -> String {
        var lines: [String] = []
        write(node, indent: 0, into: &lines)
        return lines.joined(separator: "\n") + "\n"
    }

    private static func write(_ node: ManifestNode, indent: Int, into lines: inout [String]) {
        let pad = String(repeating: " ", count: indent)
        switch node {
        case .map(let members):
            if members.isEmpty {
                lines.append(pad + "{}")
                return
            }
            for (key, value) in members {
                let name = scalar(key)
                if let inline = inline(value) {
                    lines.append("\(pad)\(name): \(inline)")
                } else {
                    lines.append("\(pad)\(name):")
                    // Sequences under a key are indented like the key's children, as kubectl writes them.
                    write(value, indent: indent + 2, into: &lines)
                }
            }
        case .list(let items):
            if items.isEmpty {
                lines.append(pad + "[]")
                return
            }
            for item in items {
                if let inline = inline(item) {
                    lines.append("\(pad)- \(inline)")
                    continue
                }
                var nested: [String] = []
                write(item, indent: indent + 2, into: &nested)
                // The first line of the item shares the dash's line.
                if let first = nested.first {
                    nested[0] = pad + "- " + first.dropFirst(indent + 2)
                }
                lines += nested
            }
        default:
            lines.append(pad + (inline(node) ?? ""))
        }
    }

    /// The one-line form of scalars and empty collections; nil for the rest.
    private static func inline(_ node: ManifestNode) -> String? {
        switch node {
        case .string(let text): scalar(text)
        case .integer(let value): String(value)
        case .bool(let value): value ? "true" : "false"
        case .list(let items) where items.isEmpty: "[]"
        case .map(let members) where members.isEmpty: "{}"
        default: nil
        }
    }

    static func scalar(_ text: String) -> String { needsQuotes(text) ? quoted(text) : text }

    private static let reserved: Set<String> = [
        "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "yes", "Yes", "YES", "no", "No",
        "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N", ".inf", ".Inf", ".INF", "-.inf", ".nan", ".NaN", "<<",
    ]

    static func needsQuotes(_ text: String) -> Bool {
        if reserved.contains(text) { return true }
        if let first = text.first, ",[]{}#&*!|>'\"%@` \t".contains(first) { return true }
        // "-", "?" and ":" start a plain scalar unless a space follows (`--http-port` needs no quotes, `- x` does).
        if let first = text.first, "-?:".contains(first), text.count == 1 || text.dropFirst().first == " " { return true }
        if text.hasPrefix("---") || text.hasPrefix("...") { return true }
        if let last = text.last, last == " " || last == ":" { return true }
        if text.contains(": ") || text.contains(" #") || text.contains("\n") || text.contains("\t") { return true }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) { return true }
        // Anything a YAML 1.1 reader could take for a number: digits with signs, dots, exponents, underscores, colons (sexagesimal), 0x/0o.
        let numeric = text.allSatisfy { $0.isASCII && ($0.isNumber || "+-._:eExXoObB".contains($0)) }
        if numeric && text.contains(where: \.isNumber) { return true }
        return false
    }

    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
