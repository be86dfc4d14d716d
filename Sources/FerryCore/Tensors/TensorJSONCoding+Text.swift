#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A tensor's `data` read straight from its checked JSON text into typed
/// elements: no tree node and no string per number. A ResNet-50 input is
/// 150,528 numbers in about 1.4 MB of text.
extension TensorJSONCoding {
    /// One scalar of the text; `literal` is where a number was written.
    enum Scalar {
        case number(DecimalLiteral, literal: Range<Int>)
        /// `NaN`, `Infinity` or `-Infinity`.
        case special(literal: Range<Int>)
        case bool(Bool)
        case string
    }

    static func decode(
        _ text: JSONText,
        datatype: DataType,
        expected: Int,
        context: Context
    ) throws(FerryError) -> Data {
        switch datatype {
        case .bool:
            return try read(text, expected: expected, context: context) { scalar, index throws(FerryError) -> Bool in
                guard case .bool(let flag) = scalar else { throw context.invalid(scalar.value(text), index, "a boolean") }
                return flag
            }
        case .uint8: return try readIntegers(text, UInt8.self, expected: expected, context: context)
        case .uint16: return try readIntegers(text, UInt16.self, expected: expected, context: context)
        case .uint32: return try readIntegers(text, UInt32.self, expected: expected, context: context)
        case .uint64: return try readIntegers(text, UInt64.self, expected: expected, context: context)
        case .int8: return try readIntegers(text, Int8.self, expected: expected, context: context)
        case .int16: return try readIntegers(text, Int16.self, expected: expected, context: context)
        case .int32: return try readIntegers(text, Int32.self, expected: expected, context: context)
        case .int64: return try readIntegers(text, Int64.self, expected: expected, context: context)
        case .fp32:
            return try read(text, expected: expected, context: context) { scalar, index throws(FerryError) -> Float in
                if case .number(let decimal, _) = scalar, let value = decimal.float { return value }
                return try context.floatLiteral(scalar.value(text), index, Float.self)
            }
        case .fp64:
            return try read(text, expected: expected, context: context) { scalar, index throws(FerryError) -> Double in
                if case .number(let decimal, _) = scalar, let value = decimal.double { return value }
                return try context.floatLiteral(scalar.value(text), index, Double.self)
            }
        // As in the tree path: the correctly rounded Double, rounded to odd into Float, then to the half type.
        case .fp16: return try readHalf(text, expected: expected, context: context) { Float16($0) }
        case .bf16: return try readHalf(text, expected: expected, context: context) { BFloat16($0) }
        case .bytes:
            // Strings need their escapes undone: the tree path does it.
            return try decode(JSONParser.parse(text.bytes), datatype: datatype, shape: TensorShape([expected]), tensorName: context.tensorName)
        }
    }

    private static func readHalf<Element: TensorElement>(
        _ text: JSONText,
        expected: Int,
        context: Context,
        _ half: (Float) -> Element
    ) throws(FerryError) -> Data {
        try read(text, expected: expected, context: context) { scalar, index throws(FerryError) -> Element in
            let value: Double
            if case .number(let decimal, _) = scalar, let exact = decimal.double {
                value = exact
            } else {
                value = try context.floatLiteral(scalar.value(text), index, Double.self)
            }
            return half(Float(roundingToOdd: value))
        }
    }

    private static func readIntegers<Element: TensorElement & FixedWidthInteger>(
        _ text: JSONText,
        _ type: Element.Type,
        expected: Int,
        context: Context
    ) throws(FerryError) -> Data {
        try read(text, expected: expected, context: context) { scalar, index throws(FerryError) -> Element in
            if case .number(let decimal, _) = scalar, let value = decimal.integer(Element.self) { return value }
            return try context.integerLiteral(scalar.value(text), index, Element.self)
        }
    }

    /// Walks the (nested) arrays in row-major order, converting each scalar;
    /// counts what is beyond `expected` without converting it.
    private static func read<Element: TensorElement>(
        _ text: JSONText,
        expected: Int,
        context: Context,
        _ convert: (Scalar, Int) throws(FerryError) -> Element
    ) throws(FerryError) -> Data {
        let result: Result<(values: [Element], count: Int), FerryError> = text.bytes.withUnsafeBytes { raw in
            // Reserve from the text actually sent (a number and its comma take
            // 2 bytes at least), never from the claimed shape.
            var values: [Element] = []
            values.reserveCapacity(min(expected, raw.count / 2 + 1))
            var count = 0
            var position = 0
            do throws(FerryError) {
                while position < raw.count {
                    switch raw[position] {
                    case UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: ","), 0x20, 0x0A, 0x0D, 0x09:
                        position += 1
                    case UInt8(ascii: "{"), UInt8(ascii: "n"):
                        let kind = raw[position] == UInt8(ascii: "n") ? "null" : "an object"
                        throw FerryError(
                            .invalidArgument, "input '\(context.tensorName)': 'data' must hold numbers, booleans or strings, not \(kind)")
                    default:
                        let scalar = Self.scalar(raw, &position)
                        if count < expected { values.append(try convert(scalar, count)) }
                        count += 1
                    }
                }
                return .success((values, count))
            } catch {
                return .failure(error)
            }
        }
        let (values, count) = try result.get()
        guard count == expected else {
            throw FerryError(
                .invalidArgument,
                "input '\(context.tensorName)': shape \(context.shape) has \(expected) elements, but 'data' holds \(count)")
        }
        return values.withUnsafeBufferPointer { Data(buffer: $0) }
    }

    /// The scalar at `position` (the parser checked the text), moving past it.
    private static func scalar(_ raw: UnsafeRawBufferPointer, _ position: inout Int) -> Scalar {
        let start = position
        switch raw[position] {
        case UInt8(ascii: "t"):
            position += 4
            return .bool(true)
        case UInt8(ascii: "f"):
            position += 5
            return .bool(false)
        case UInt8(ascii: "\""):
            position += 1
            while raw[position] != UInt8(ascii: "\"") { position += raw[position] == UInt8(ascii: "\\") ? 2 : 1 }
            position += 1
            return .string
        case UInt8(ascii: "N"):
            position += 3
            return .special(literal: start..<position)
        case UInt8(ascii: "I"):
            position += 8
            return .special(literal: start..<position)
        default:
            if raw[position] == UInt8(ascii: "-") && raw[position + 1] == UInt8(ascii: "I") {
                position += 9
                return .special(literal: start..<position)
            }
            let decimal = DecimalLiteral(raw, &position)
            return .number(decimal, literal: start..<position)
        }
    }
}

extension TensorJSONCoding.Scalar {
    /// The scalar as the tree path sees it, for its conversions and messages.
    func value(_ text: JSONText) -> JSONValue {
        func literal(_ range: Range<Int>) -> String {
            text.bytes.withUnsafeBytes { String(decoding: UnsafeRawBufferPointer(rebasing: $0[range]), as: UTF8.self) }
        }
        switch self {
        case .number(_, let range), .special(let range): return .number(literal(range))
        case .bool(let flag): return .bool(flag)
        case .string: return .string("")
        }
    }
}
