#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A strict RFC 8259 parser (plus the `NaN`/`Infinity` literals Python's json
/// module writes). Errors say what was wrong and at which byte offset; nesting
/// is bounded so hostile input cannot exhaust the stack.
public struct JSONParser {
    public static let maximumDepth = 512

    public static func parse(_ data: Data) throws(FerryError) -> JSONValue {
        let result: Result<JSONValue, FerryError> = data.withUnsafeBytes { buffer in
            var parser = JSONParser(bytes: buffer)
            return Result { () throws(FerryError) in try parser.parseDocument() }
        }
        return try result.get()
    }

    /// Parses a document whose arrays under the key `key` (at any depth) are
    /// checked as strictly as the rest but kept as text (`.deferredArray`), a
    /// slice of `data`: a v2 request's tensor data is read straight into its
    /// typed elements instead of a tree node per number.
    ///
    /// `reader`, given the members of the array's object parsed so far, may
    /// check and read the array in one pass instead (returning where it ends
    /// and what it read, kept with the text) or leave it to the general check
    /// (nil); it must accept only what the grammar accepts.
    public static func parse(
        _ data: Data,
        deferringArraysOf key: String,
        readingInPlace reader: InPlaceReader? = nil
    ) throws(FerryError) -> JSONValue {
        let result: Result<JSONValue, FerryError> = data.withUnsafeBytes { buffer in
            var parser = JSONParser(bytes: buffer)
            parser.deferred = (Array(key.utf8), data, reader)
            return Result { () throws(FerryError) in try parser.parseDocument() }
        }
        return try result.get()
    }

    public static func parse(_ text: String) throws(FerryError) -> JSONValue {
        try parse(Data(text.utf8))
    }

    private let bytes: UnsafeRawBufferPointer
    private var position = 0
    private var depth = 0
    public typealias InPlaceReader = (
        _ siblings: [String: JSONValue], _ text: UnsafeRawBufferPointer, _ start: Int, _ depthLeft: Int
    ) -> (end: Int, decoded: JSONText.Decoded)?

    /// The key whose arrays are kept as text, the document they are sliced
    /// from, and who may read them in place.
    private var deferred: (key: [UInt8], source: Data, reader: InPlaceReader?)?

    private init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    private mutating func parseDocument() throws(FerryError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard position == bytes.count else { throw error("unexpected data after the JSON value") }
        return value
    }

    private func error(_ message: String) -> FerryError {
        FerryError(.invalidArgument, "malformed JSON at byte \(position): \(message)")
    }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    private mutating func parseValue() throws(FerryError) -> JSONValue {
        guard let byte = current else { throw error("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "N"): try expectLiteral("NaN"); return .number("NaN")
        case UInt8(ascii: "I"): try expectLiteral("Infinity"); return .number("Infinity")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected character '\(Unicode.Scalar(byte))'")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(FerryError) {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - position >= count,
            memcmp(bytes.baseAddress! + position, literal.utf8Start, count) == 0
        else { throw error("invalid literal (expected '\(literal)')") }
        position += count
    }

    private mutating func enter() throws(FerryError) {
        depth += 1
        guard depth <= Self.maximumDepth else { throw error("nested deeper than \(Self.maximumDepth) levels") }
    }

    private mutating func parseObject() throws(FerryError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        position += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try parseString()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw error("expected ':' after key \"\(key)\"") }
            position += 1
            skipWhitespace()
            if let deferred, current == UInt8(ascii: "["), key.utf8.elementsEqual(deferred.key) {
                let start = position
                var decoded: JSONText.Decoded?
                if let read = deferred.reader?(members, bytes, position, Self.maximumDepth - depth) {
                    position = read.end
                    decoded = read.decoded
                } else if let end = NumberArrayScan.end(of: bytes, from: position, depthLeft: Self.maximumDepth - depth) {
                    position = end
                } else {
                    try skipValue()
                }
                let base = deferred.source.startIndex
                members[key] = .deferredArray(JSONText(checked: deferred.source[(base + start)..<(base + position)], decoded: decoded))
            } else {
                members[key] = try parseValue()
            }
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return .object(members)
            default: throw error("expected ',' or '}' in object")
            }
        }
    }

    private mutating func parseArray() throws(FerryError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return .array(elements)
            default: throw error("expected ',' or ']' in array")
            }
        }
    }

    /// Checks one value without building it: the same grammar and limits as `parseValue`.
    private mutating func skipValue() throws(FerryError) {
        guard let byte = current else { throw error("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            let close = byte == UInt8(ascii: "[") ? UInt8(ascii: "]") : UInt8(ascii: "}")
            try enter()
            defer { depth -= 1 }
            position += 1
            skipWhitespace()
            if current == close {
                position += 1
                return
            }
            while true {
                skipWhitespace()
                if close == UInt8(ascii: "}") {
                    guard current == UInt8(ascii: "\"") else { throw error("expected a string key") }
                    _ = try parseString()
                    skipWhitespace()
                    guard current == UInt8(ascii: ":") else { throw error("expected ':' after key") }
                    position += 1
                    skipWhitespace()
                }
                try skipValue()
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","): position += 1
                case close: position += 1; return
                default: throw error(close == UInt8(ascii: "]") ? "expected ',' or ']' in array" : "expected ',' or '}' in object")
                }
            }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try scanNumber()
        default:
            _ = try parseValue()
        }
    }

    private mutating func parseNumber() throws(FerryError) -> String {
        let start = position
        if try scanNumber() { return "-Infinity" }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }

    /// Moves past a number, checking RFC 8259's grammar; true for `-Infinity`.
    @discardableResult
    private mutating func scanNumber() throws(FerryError) -> Bool {
        if current == UInt8(ascii: "-") {
            position += 1
            if current == UInt8(ascii: "I") {
                try expectLiteral("Infinity")
                return true
            }
        }
        guard let first = current, isDigit(first) else { throw error("expected a digit") }
        position += 1
        if first != UInt8(ascii: "0") { skipDigits() }
        if current == UInt8(ascii: ".") {
            position += 1
            guard let byte = current, isDigit(byte) else { throw error("expected a digit after '.'") }
            skipDigits()
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard let byte = current, isDigit(byte) else { throw error("expected a digit in the exponent") }
            skipDigits()
        }
        return false
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// Tensor data is mostly digits: this loop reads them without an
    /// optional or a bounds check per byte.
    private mutating func skipDigits() {
        guard let base = bytes.baseAddress else { return }
        var index = position
        let end = bytes.count
        while let chunk = EightDigits.load(base, index, count: end), EightDigits.all(chunk) { index &+= 8 }
        while index < end && base.load(fromByteOffset: index, as: UInt8.self) &- UInt8(ascii: "0") < 10 { index &+= 1 }
        position = index
    }

    private mutating func parseString() throws(FerryError) -> String {
        position += 1
        let start = position
        // Fast path: no escapes, so the bytes are the string.
        while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
            guard byte >= 0x20 else { throw error("control character in string") }
            position += 1
        }
        guard let stop = current else { throw error("unterminated string") }
        var utf8 = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
        if stop == UInt8(ascii: "\\") {
            try parseEscapedRemainder(into: &utf8)
        } else {
            position += 1
        }
        guard let string = String(validating: utf8, as: UTF8.self) else { throw error("string is not valid UTF-8") }
        return string
    }

    private mutating func parseEscapedRemainder(into utf8: inout [UInt8]) throws(FerryError) {
        while let byte = current {
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return
            case UInt8(ascii: "\\"):
                guard let escape = current else { throw error("unterminated escape") }
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"): utf8.append(contentsOf: try parseUnicodeEscape())
                default: throw error("invalid escape '\\\(Unicode.Scalar(escape))'")
                }
            default:
                guard byte >= 0x20 else { throw error("control character in string") }
                utf8.append(byte)
            }
        }
        throw error("unterminated string")
    }

    private mutating func parseHex4() throws(FerryError) -> UInt32 {
        guard bytes.count - position >= 4 else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    private mutating func parseUnicodeEscape() throws(FerryError) -> [UInt8] {
        var scalarValue = try parseHex4()
        if (0xD800..<0xDC00).contains(scalarValue) {
            guard bytes.count - position >= 2, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
            else { throw error("unpaired UTF-16 surrogate in \\u escape") }
            position += 2
            let low = try parseHex4()
            guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired UTF-16 surrogate in \\u escape") }
            scalarValue = 0x10000 + ((scalarValue - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(scalarValue) else { throw error("invalid \\u escape") }
        return Array(String(Character(scalar)).utf8)
    }
}
