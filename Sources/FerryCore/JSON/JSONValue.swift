#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A parsed JSON document.
///
/// Numbers keep their literal text: a v2 request may carry UINT64 and INT64
/// values beyond 2^53 and float32 values that must round to the exact same
/// bits, which parsing through `Double` would lose.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
    /// An array the parser checked but did not build, kept as its text: the
    /// `data` of a v2 tensor, which `TensorJSONCoding` reads straight into
    /// typed elements (see `JSONParser.parse(_:deferringArraysOf:)`).
    case deferredArray(JSONText)

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        switch self {
        case .array(let value): value
        case .deferredArray(let text): (try? JSONParser.parse(text.bytes))?.arrayValue
        default: nil
        }
    }

    /// A short name for error messages: "a string", "an array".
    public var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array, .deferredArray: "an array"
        case .object: "an object"
        }
    }
}

/// Checked JSON text: a slice of the document it came from, and what the
/// parser already read from it, when it could.
public struct JSONText: Sendable, Hashable {
    public let bytes: Data
    /// The tensor elements the parser read in place (see
    /// `TensorJSONCoding.readInPlace`); a cache of `bytes`, left out of equality.
    public let decoded: Decoded?

    public struct Decoded: Sendable {
        public let datatype: DataType
        public let count: Int
        public let data: Data

        public init(datatype: DataType, count: Int, data: Data) {
            self.datatype = datatype
            self.count = count
            self.data = data
        }
    }

    public init(checked bytes: Data, decoded: Decoded? = nil) {
        self.bytes = bytes
        self.decoded = decoded
    }

    public static func == (lhs: JSONText, rhs: JSONText) -> Bool { lhs.bytes == rhs.bytes }

    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }
}
