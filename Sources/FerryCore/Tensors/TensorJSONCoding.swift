#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Converts the `data` member of a v2 JSON tensor to and from tensor bytes.
///
/// Data may be flat or nested arrays (row-major either way, as the protocol
/// allows). Numbers are converted from their literal text straight to the
/// element type, so the float32 a client wrote is the float32 the model sees.
public enum TensorJSONCoding {
    public static func decode(
        _ data: JSONValue,
        datatype: DataType,
        shape: TensorShape,
        tensorName: String
    ) throws(FerryError) -> Data {
        if case .deferredArray(let text) = data {
            guard let expected = shape.elementCount else {
                throw FerryError(.invalidArgument, "input '\(tensorName)': shape \(shape) is not a valid shape")
            }
            return try decode(text, datatype: datatype, expected: expected, context: Context(tensorName: tensorName, datatype: datatype, shape: shape))
        }
        var leaves: [JSONValue] = []
        // Reserve from the data actually sent, never from the claimed shape: a
        // shape of 2^40 elements must be an error, not an allocation.
        if case .array(let top) = data { leaves.reserveCapacity(min(shape.elementCount ?? 0, top.count * 64)) }
        try flatten(data, into: &leaves, tensorName: tensorName)
        guard let expected = shape.elementCount else {
            throw FerryError(.invalidArgument, "input '\(tensorName)': shape \(shape) is not a valid shape")
        }
        guard leaves.count == expected else {
            throw FerryError(
                .invalidArgument,
                "input '\(tensorName)': shape \(shape) has \(expected) elements, but 'data' holds \(leaves.count)"
            )
        }
        let context = Context(tensorName: tensorName, datatype: datatype, shape: shape)
        switch datatype {
        case .bool:
            return try pack(leaves, context) { value, context, index throws(FerryError) -> Bool in
                guard case .bool(let flag) = value else { throw context.invalid(value, index, "a boolean") }
                return flag
            }
        case .uint8: return try packInteger(leaves, UInt8.self, context)
        case .uint16: return try packInteger(leaves, UInt16.self, context)
        case .uint32: return try packInteger(leaves, UInt32.self, context)
        case .uint64: return try packInteger(leaves, UInt64.self, context)
        case .int8: return try packInteger(leaves, Int8.self, context)
        case .int16: return try packInteger(leaves, Int16.self, context)
        case .int32: return try packInteger(leaves, Int32.self, context)
        case .int64: return try packInteger(leaves, Int64.self, context)
        // FP32 and FP64 are parsed from the text with one correct rounding. The
        // half types go through the correctly rounded Double, then round to odd
        // into Float and to nearest-even into the half type: the result differs
        // from a single rounding only if the text lies within 2^-53 (relative)
        // of a half-type midpoint.
        case .fp16:
            return try pack(leaves, context) { value, context, index throws(FerryError) -> Float16 in
                try Float16(Float(roundingToOdd: context.floatLiteral(value, index, Double.self)))
            }
        case .bf16:
            return try pack(leaves, context) { value, context, index throws(FerryError) -> BFloat16 in
                try BFloat16(Float(roundingToOdd: context.floatLiteral(value, index, Double.self)))
            }
        case .fp32:
            return try pack(leaves, context) { value, context, index throws(FerryError) -> Float in
                try context.floatLiteral(value, index, Float.self)
            }
        case .fp64:
            return try pack(leaves, context) { value, context, index throws(FerryError) -> Double in
                try context.floatLiteral(value, index, Double.self)
            }
        case .bytes:
            var bytes = Data()
            for (index, leaf) in leaves.enumerated() {
                guard case .string(let text) = leaf else { throw context.invalid(leaf, index, "a string") }
                BytesTensorCoding.appendLength(UInt32(text.utf8.count), to: &bytes)
                bytes.append(contentsOf: text.utf8)
            }
            return bytes
        }
    }

    /// Writes the tensor's elements as a flat JSON array.
    public static func write(_ tensor: Tensor, to writer: inout JSONWriter) throws(FerryError) {
        switch tensor.datatype {
        case .bool: writer.list(try tensor.values(as: Bool.self)) { $0.bool($1) }
        case .uint8: writer.list(try tensor.values(as: UInt8.self)) { $0.integer($1) }
        case .uint16: writer.list(try tensor.values(as: UInt16.self)) { $0.integer($1) }
        case .uint32: writer.list(try tensor.values(as: UInt32.self)) { $0.integer($1) }
        case .uint64: writer.list(try tensor.values(as: UInt64.self)) { $0.integer($1) }
        case .int8: writer.list(try tensor.values(as: Int8.self)) { $0.integer($1) }
        case .int16: writer.list(try tensor.values(as: Int16.self)) { $0.integer($1) }
        case .int32: writer.list(try tensor.values(as: Int32.self)) { $0.integer($1) }
        case .int64: writer.list(try tensor.values(as: Int64.self)) { $0.integer($1) }
        // Half-precision values are written at float32 precision: the text
        // reads back to the same half value, and a float32 reader gets it exactly.
        case .fp16: writer.list(try tensor.values(as: Float16.self)) { $0.floatingPoint(Float($1)) }
        case .bf16: writer.list(try tensor.values(as: BFloat16.self)) { $0.floatingPoint($1.floatValue) }
        case .fp32: writer.list(try tensor.values(as: Float.self)) { $0.floatingPoint($1) }
        case .fp64: writer.list(try tensor.values(as: Double.self)) { $0.floatingPoint($1) }
        case .bytes:
            let elements = try tensor.byteElements()
            if let index = firstNonText(elements) { throw notText(tensor.name, index) }
            writer.list(elements) { $0.string(utf8: $1) }
        }
    }

    /// The index of the first element of a BYTES tensor that is not UTF-8
    /// text, which a JSON string cannot carry without altering it; nil if all are.
    public static func firstNonTextElement(_ tensor: Tensor) throws(FerryError) -> Int? {
        guard tensor.datatype == .bytes else { return nil }
        return firstNonText(try tensor.byteElements())
    }

    private static func firstNonText(_ elements: [Data]) -> Int? {
        elements.firstIndex { String(validating: $0, as: UTF8.self) == nil }
    }

    private static func notText(_ name: String, _ index: Int) -> FerryError {
        FerryError(
            .invalidArgument,
            "BYTES tensor '\(name)' element \(index) is not UTF-8 text, which a JSON string cannot carry unaltered: ask for it as binary data (the binary tensor extension, \"binary_data\": true)"
        )
    }

    /// Writes element `index` of the tensor as one JSON value.
    public static func writeElement(_ tensor: Tensor, at index: Int, to writer: inout JSONWriter) throws(FerryError) {
        func load<Element: TensorElement>(_ type: Element.Type) -> Element {
            tensor.data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: index * MemoryLayout<Element>.stride, as: Element.self) }
        }
        switch tensor.datatype {
        case .bool: writer.bool(load(Bool.self))
        case .uint8: writer.integer(load(UInt8.self))
        case .uint16: writer.integer(load(UInt16.self))
        case .uint32: writer.integer(load(UInt32.self))
        case .uint64: writer.integer(load(UInt64.self))
        case .int8: writer.integer(load(Int8.self))
        case .int16: writer.integer(load(Int16.self))
        case .int32: writer.integer(load(Int32.self))
        case .int64: writer.integer(load(Int64.self))
        case .fp16: writer.floatingPoint(Float(load(Float16.self)))
        case .bf16: writer.floatingPoint(load(BFloat16.self).floatValue)
        case .fp32: writer.floatingPoint(load(Float.self))
        case .fp64: writer.floatingPoint(load(Double.self))
        case .bytes:
            let element = try tensor.byteElements()[index]
            guard String(validating: element, as: UTF8.self) != nil else { throw notText(tensor.name, index) }
            writer.string(utf8: element)
        }
    }

    struct Context {
        let tensorName: String
        let datatype: DataType
        let shape: TensorShape

        func invalid(_ value: JSONValue, _ index: Int, _ expected: String) -> FerryError {
            let shown: String
            if case .number(let literal) = value { shown = literal } else { shown = value.kindDescription }
            return FerryError(
                .invalidArgument,
                "input '\(tensorName)': element \(index) of 'data' is \(shown), but \(datatype.rawValue) needs \(expected)"
            )
        }

        func integerLiteral<Element: FixedWidthInteger>(_ value: JSONValue, _ index: Int, _ type: Element.Type) throws(FerryError) -> Element {
            guard case .number(let literal) = value else { throw invalid(value, index, "an integer") }
            guard let integer = Element(literal) else {
                // Integral by its spelling, so 2^64 is "out of range", not "not an integer".
                let digits = literal.hasPrefix("-") ? literal.dropFirst() : Substring(literal)
                let isIntegral = !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
                throw invalid(value, index, isIntegral ? "a value in \(Element.min)...\(Element.max)" : "an integer")
            }
            return integer
        }

        func floatLiteral<Number: LosslessStringConvertible>(
            _ value: JSONValue,
            _ index: Int,
            _ type: Number.Type
        ) throws(FerryError) -> Number {
            guard case .number(let literal) = value, let number = Number(literal) else {
                throw invalid(value, index, "a number")
            }
            return number
        }
    }

    private static func flatten(_ value: JSONValue, into leaves: inout [JSONValue], tensorName: String) throws(FerryError) {
        switch value {
        case .array(let elements):
            for element in elements { try flatten(element, into: &leaves, tensorName: tensorName) }
        case .object, .null:
            throw FerryError(
                .invalidArgument, "input '\(tensorName)': 'data' must hold numbers, booleans or strings, not \(value.kindDescription)")
        default:
            leaves.append(value)
        }
    }

    private static func pack<Element: TensorElement>(
        _ leaves: [JSONValue],
        _ context: Context,
        _ convert: (JSONValue, Context, Int) throws(FerryError) -> Element
    ) throws(FerryError) -> Data {
        var values: [Element] = []
        values.reserveCapacity(leaves.count)
        for (index, leaf) in leaves.enumerated() { values.append(try convert(leaf, context, index)) }
        return values.withUnsafeBufferPointer { Data(buffer: $0) }
    }

    private static func packInteger<Element: TensorElement & FixedWidthInteger>(
        _ leaves: [JSONValue],
        _ type: Element.Type,
        _ context: Context
    ) throws(FerryError) -> Data {
        try pack(leaves, context) { value, context, index throws(FerryError) -> Element in
            try context.integerLiteral(value, index, Element.self)
        }
    }
}
