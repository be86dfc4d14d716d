#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Appends JSON text to a byte buffer. Responses are written straight into
/// bytes instead of through an intermediate document tree.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []

    public init(reservingCapacity capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public var data: Data { Data(bytes) }

    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    public mutating func raw(_ text: String) { bytes.append(contentsOf: text.utf8) }

    /// Appends a JSON document written elsewhere (a stored response), as is.
    public mutating func embed(_ json: some Collection<UInt8>) { bytes.append(contentsOf: json) }

    public mutating func string(_ text: String) {
        var text = text
        // A String is valid UTF-8: escaped in place, the runs between escapes copied whole.
        text.withUTF8 { appendEscaped($0) }
    }

    /// Writes a JSON string from UTF-8 bytes; invalid sequences become U+FFFD.
    public mutating func string(utf8 input: some Collection<UInt8>) {
        string(String(decoding: input, as: UTF8.self))
    }

    private mutating func appendEscaped(_ text: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        var start = 0
        for index in 0..<text.count {
            let byte = text[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[start..<index]))
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            default:
                raw("\\u00")
                bytes.append(Self.hexDigits[Int(byte >> 4)])
                bytes.append(Self.hexDigits[Int(byte & 0xF)])
            }
            start = index + 1
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[start...]))
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    public mutating func integer(_ value: some BinaryInteger) { raw(String(value)) }

    /// Writes the shortest text that reads back as the same value; non-finite
    /// values as Python's json module writes them (`NaN`, `Infinity`).
    public mutating func floatingPoint(_ value: some BinaryFloatingPoint & LosslessStringConvertible) {
        if value.isNaN {
            raw("NaN")
        } else if value.isInfinite {
            raw(value < 0 ? "-Infinity" : "Infinity")
        } else {
            raw(value.description)
        }
    }

    public mutating func bool(_ value: Bool) { raw(value ? "true" : "false") }

    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: raw("null")
        case .bool(let flag): bool(flag)
        case .number(let literal): raw(literal)
        case .string(let text): string(text)
        case .array(let elements):
            list(elements) { writer, element in writer.value(element) }
        case .deferredArray(let text):
            embed(text.bytes)
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                string(key)
                bytes.append(UInt8(ascii: ":"))
                self.value(members[key]!)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    /// Writes `[e0,e1,…]`, each element by `body`.
    public mutating func list<S: Sequence>(_ elements: S, _ body: (inout JSONWriter, S.Element) -> Void) {
        bytes.append(UInt8(ascii: "["))
        var first = true
        for element in elements {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            body(&self, element)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// Writes `{` … `}` where `body` adds members with `member(_:)`.
    public mutating func object(_ body: (inout ObjectWriter) -> Void) {
        var object = ObjectWriter(writer: self)
        bytes = []
        object.writer.bytes.append(UInt8(ascii: "{"))
        body(&object)
        object.writer.bytes.append(UInt8(ascii: "}"))
        self = object.writer
    }

    public struct ObjectWriter {
        fileprivate var writer: JSONWriter
        private var count = 0

        fileprivate init(writer: JSONWriter) { self.writer = writer }

        /// Writes `"key":` and then the value through `body`.
        public mutating func member(_ key: String, _ body: (inout JSONWriter) -> Void) {
            if count > 0 { writer.bytes.append(UInt8(ascii: ",")) }
            count += 1
            writer.string(key)
            writer.bytes.append(UInt8(ascii: ":"))
            body(&writer)
        }
    }
}
