/// Reads one line's worth of YAML value: a scalar, or a flow sequence or
/// mapping (`[a, b]`, `{k: v}`), which may nest.
struct FlowScanner {
    private let bytes: [UInt8]
    private var position = 0
    private let line: Int
    private let source: String

    init(_ bytes: [UInt8], line: Int, source: String) {
        self.bytes = bytes
        self.line = line
        self.source = source
    }

    private func fail(_ message: String) -> FerryError {
        FerryError(.invalidArgument, "\(source):\(line): \(message)")
    }

    mutating func expectEnd() throws(FerryError) {
        skipSpaces()
        guard position == bytes.count else {
            throw fail("unexpected '\(String(decoding: bytes[position...], as: UTF8.self))' after the value")
        }
    }

    mutating func value(inFlow: Bool = false) throws(FerryError) -> JSONValue {
        skipSpaces()
        guard position < bytes.count else { return .null }
        switch bytes[position] {
        case UInt8(ascii: "["): return try sequence()
        case UInt8(ascii: "{"): return try mapping()
        case UInt8(ascii: "\""): return .string(try doubleQuoted())
        case UInt8(ascii: "'"): return .string(try singleQuoted())
        case UInt8(ascii: "&"), UInt8(ascii: "*"), UInt8(ascii: "!"):
            throw fail("anchors, aliases and tags are not supported")
        default: return Self.typed(plain(inFlow: inFlow))
        }
    }

    private mutating func sequence() throws(FerryError) -> JSONValue {
        position += 1
        var items: [JSONValue] = []
        while true {
            skipSpaces()
            guard position < bytes.count else { throw fail("a flow sequence '[' is not closed on its line") }
            if bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array(items)
            }
            items.append(try value(inFlow: true))
            skipSpaces()
            if position < bytes.count, bytes[position] == UInt8(ascii: ",") { position += 1 }
        }
    }

    private mutating func mapping() throws(FerryError) -> JSONValue {
        position += 1
        var members: [String: JSONValue] = [:]
        while true {
            skipSpaces()
            guard position < bytes.count else { throw fail("a flow mapping '{' is not closed on its line") }
            if bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            let key: String
            switch try value(inFlow: true) {
            case .string(let text), .number(let text): key = text
            case .bool(let flag): key = flag ? "true" : "false"
            default: throw fail("a flow mapping key must be a scalar")
            }
            skipSpaces()
            var member = JSONValue.null
            if position < bytes.count, bytes[position] == UInt8(ascii: ":") {
                position += 1
                member = try value(inFlow: true)
            }
            guard members[key] == nil else { throw fail("the key '\(key)' appears twice") }
            members[key] = member
            skipSpaces()
            if position < bytes.count, bytes[position] == UInt8(ascii: ",") { position += 1 }
        }
    }

    /// Up to a flow indicator (in a flow collection) or the end; a `: ` ends a flow key.
    private mutating func plain(inFlow: Bool) -> String {
        let start = position
        while position < bytes.count {
            let byte = bytes[position]
            if inFlow && (byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}")) { break }
            if inFlow && byte == UInt8(ascii: ":")
                && (position + 1 == bytes.count || bytes[position + 1] == UInt8(ascii: " ")
                    || bytes[position + 1] == UInt8(ascii: ",") || bytes[position + 1] == UInt8(ascii: "}"))
            {
                break
            }
            position += 1
        }
        return String(decoding: bytes[start..<position], as: UTF8.self).trimmingWhitespace
    }

    private mutating func singleQuoted() throws(FerryError) -> String {
        position += 1
        var text: [UInt8] = []
        while position < bytes.count {
            if bytes[position] == UInt8(ascii: "'") {
                if position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "'") {
                    text.append(UInt8(ascii: "'"))
                    position += 2
                    continue
                }
                position += 1
                return String(decoding: text, as: UTF8.self)
            }
            text.append(bytes[position])
            position += 1
        }
        throw fail("a single-quoted string is not closed on its line")
    }

    private mutating func doubleQuoted() throws(FerryError) -> String {
        position += 1
        var text = ""
        var run: [UInt8] = []
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: "\"") {
                return text + String(decoding: run, as: UTF8.self)
            }
            guard byte == UInt8(ascii: "\\") else {
                run.append(byte)
                continue
            }
            text += String(decoding: run, as: UTF8.self)
            run = []
            guard position < bytes.count else { break }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "n"): text += "\n"
            case UInt8(ascii: "t"): text += "\t"
            case UInt8(ascii: "r"): text += "\r"
            case UInt8(ascii: "0"): text += "\0"
            case UInt8(ascii: "\""): text += "\""
            case UInt8(ascii: "\\"): text += "\\"
            case UInt8(ascii: "/"): text += "/"
            case UInt8(ascii: " "): text += " "
            case UInt8(ascii: "u"), UInt8(ascii: "x"), UInt8(ascii: "U"):
                let count = escape == UInt8(ascii: "x") ? 2 : escape == UInt8(ascii: "u") ? 4 : 8
                guard position + count <= bytes.count,
                    let code = UInt32(String(decoding: bytes[position..<position + count], as: UTF8.self), radix: 16),
                    let scalar = Unicode.Scalar(code)
                else { throw fail("a bad \\\(Character(Unicode.Scalar(escape))) escape in a double-quoted string") }
                text.unicodeScalars.append(scalar)
                position += count
            default:
                throw fail("the escape \\\(Character(Unicode.Scalar(escape))) is not one YAML defines")
            }
        }
        throw fail("a double-quoted string is not closed on its line")
    }

    private mutating func skipSpaces() {
        while position < bytes.count, bytes[position] == UInt8(ascii: " ") || bytes[position] == UInt8(ascii: "\t") { position += 1 }
    }

    /// YAML 1.2's core schema: `null`, `~` and nothing are null, `true` and
    /// `false` booleans, decimal, `0o` and `0x` integers and floats numbers
    /// (written in decimal), everything else a string.
    static func typed(_ text: String) -> JSONValue {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        if text.hasPrefix("0x"), let value = Int64(text.dropFirst(2), radix: 16) { return .number(String(value)) }
        if text.hasPrefix("0o"), let value = Int64(text.dropFirst(2), radix: 8) { return .number(String(value)) }
        var digits = Substring(text)
        if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
        if !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) {
            return .number(text.hasPrefix("+") ? String(text.dropFirst()) : text)
        }
        if Self.isFloat(text), Double(text) != nil { return .number(text) }
        return .string(text)
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, YAML's float pattern.
    private static func isFloat(_ text: String) -> Bool {
        var bytes = Array(text.utf8)[...]
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
        let isDigit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        let whole = bytes.prefix(while: isDigit)
        bytes = bytes.dropFirst(whole.count)
        var fraction = 0
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            fraction = bytes.prefix(while: isDigit).count
            bytes = bytes.dropFirst(fraction)
        }
        guard whole.count + fraction > 0 else { return false }
        if let first = bytes.first, first == UInt8(ascii: "e") || first == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if let sign = bytes.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
            let exponent = bytes.prefix(while: isDigit).count
            guard exponent > 0 else { return false }
            bytes = bytes.dropFirst(exponent)
        }
        return bytes.isEmpty
    }
}
