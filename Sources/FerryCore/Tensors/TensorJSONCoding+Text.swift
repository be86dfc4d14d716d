#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A tensor's `data` read straight from its JSON text into typed elements: no
/// tree node and no string per number. A ResNet-50 input is 150,528 numbers in
/// about 1.4 MB of text.
///
/// Two ways in: the parser reads the array in place, checking and converting
/// in one pass, when the tensor's `datatype` and `shape` came before its
/// `data` (as every client here writes them); otherwise it checks the array
/// and keeps it as text, converted once the tensor's header is known.
extension TensorJSONCoding {
    /// One scalar that a plain decimal conversion did not decide.
    enum Scalar {
        /// A number's literal: beyond the fast conversions, `NaN` or an infinity.
        case number(String)
        case bool(Bool)
        case string

        /// The scalar as the tree path sees it, for its conversions and messages.
        var value: JSONValue {
            switch self {
            case .number(let literal): .number(literal)
            case .bool(let flag): .bool(flag)
            case .string: .string("")
            }
        }
    }

    /// Which text a read walks.
    private enum Walk {
        /// The checked text of a deferred array: every error is named.
        case checked
        /// Unchecked text from `start`: the read gives up (nil) on anything
        /// but success, and the parser checks the array the general way.
        case inPlace(start: Int, depthLeft: Int)
    }

    /// The parser's in-place reader (`JSONParser.parse(_:deferringArraysOf:readingInPlace:)`)
    /// for the `data` of a v2 tensor whose numeric `datatype` and `shape` came first.
    public static func readInPlace(
        siblings: [String: JSONValue],
        text: UnsafeRawBufferPointer,
        start: Int,
        depthLeft: Int
    ) -> (end: Int, decoded: JSONText.Decoded)? {
        guard case .string(let typeName)? = siblings["datatype"], let datatype = DataType(rawValue: typeName),
            case .array(let dimensions)? = siblings["shape"]
        else { return nil }
        var shape: [Int] = []
        var expected = 1
        for dimension in dimensions {
            guard case .number(let literal) = dimension, let size = Int(literal), size >= 0 else { return nil }
            let (product, overflow) = expected.multipliedReportingOverflow(by: size)
            guard !overflow else { return nil }
            expected = product
            shape.append(size)
        }
        let context = Context(tensorName: siblings["name"]?.stringValue ?? "", datatype: datatype, shape: TensorShape(shape))
        // The in-place walk gives up instead of throwing; the checked path names errors.
        let read: (Data, Int)?
        do {
            read = try Self.read(text, .inPlace(start: start, depthLeft: depthLeft), datatype: datatype, expected: expected, context: context)
        } catch {
            return nil
        }
        guard let (data, end) = read else { return nil }
        return (end, JSONText.Decoded(datatype: datatype, count: expected, data: data))
    }

    static func decode(
        _ text: JSONText,
        datatype: DataType,
        expected: Int,
        context: Context
    ) throws(FerryError) -> Data {
        if let decoded = text.decoded, decoded.datatype == datatype, decoded.count == expected { return decoded.data }
        if datatype == .bytes {
            // Strings need their escapes undone: the tree path does it.
            return try decode(JSONParser.parse(text.bytes), datatype: datatype, shape: TensorShape([expected]), tensorName: context.tensorName)
        }
        let result: Result<(Data, Int)?, FerryError> = text.bytes.withUnsafeBytes { raw in
            Result { () throws(FerryError) in try read(raw, .checked, datatype: datatype, expected: expected, context: context) }
        }
        guard let (data, _) = try result.get() else {
            throw FerryError(.internal, "input '\(context.tensorName)': its checked 'data' could not be read")
        }
        return data
    }

    /// The conversions of each datatype; nil only when an in-place walk gives up.
    private static func read(
        _ raw: UnsafeRawBufferPointer,
        _ walk: Walk,
        datatype: DataType,
        expected: Int,
        context: Context
    ) throws(FerryError) -> (Data, Int)? {
        switch datatype {
        case .bool:
            return try read(raw, walk, expected: expected, context: context, fast: { _ in nil }) { scalar, index throws(FerryError) -> Bool in
                guard case .bool(let flag) = scalar else { throw context.invalid(scalar.value, index, "a boolean") }
                return flag
            }
        case .uint8: return try readIntegers(raw, walk, UInt8.self, expected: expected, context: context)
        case .uint16: return try readIntegers(raw, walk, UInt16.self, expected: expected, context: context)
        case .uint32: return try readIntegers(raw, walk, UInt32.self, expected: expected, context: context)
        case .uint64: return try readIntegers(raw, walk, UInt64.self, expected: expected, context: context)
        case .int8: return try readIntegers(raw, walk, Int8.self, expected: expected, context: context)
        case .int16: return try readIntegers(raw, walk, Int16.self, expected: expected, context: context)
        case .int32: return try readIntegers(raw, walk, Int32.self, expected: expected, context: context)
        case .int64: return try readIntegers(raw, walk, Int64.self, expected: expected, context: context)
        case .fp32:
            return try read(raw, walk, expected: expected, context: context, fast: { $0.float }) { scalar, index throws(FerryError) -> Float in
                try context.floatLiteral(scalar.value, index, Float.self)
            }
        case .fp64:
            return try read(raw, walk, expected: expected, context: context, fast: { $0.double }) { scalar, index throws(FerryError) -> Double in
                try context.floatLiteral(scalar.value, index, Double.self)
            }
        // As in the tree path: the correctly rounded Double, rounded to odd into Float, then to the half type.
        case .fp16: return try readHalf(raw, walk, expected: expected, context: context) { Float16($0) }
        case .bf16: return try readHalf(raw, walk, expected: expected, context: context) { BFloat16($0) }
        case .bytes: return nil
        }
    }

    private static func readHalf<Element: TensorElement>(
        _ raw: UnsafeRawBufferPointer,
        _ walk: Walk,
        expected: Int,
        context: Context,
        _ half: (Float) -> Element
    ) throws(FerryError) -> (Data, Int)? {
        try read(raw, walk, expected: expected, context: context, fast: { $0.double.map { half(Float(roundingToOdd: $0)) } }) {
            scalar, index throws(FerryError) -> Element in
            half(Float(roundingToOdd: try context.floatLiteral(scalar.value, index, Double.self)))
        }
    }

    private static func readIntegers<Element: TensorElement & FixedWidthInteger>(
        _ raw: UnsafeRawBufferPointer,
        _ walk: Walk,
        _ type: Element.Type,
        expected: Int,
        context: Context
    ) throws(FerryError) -> (Data, Int)? {
        try read(raw, walk, expected: expected, context: context, fast: { $0.integer(Element.self) }) { scalar, index throws(FerryError) -> Element in
            try context.integerLiteral(scalar.value, index, Element.self)
        }
    }

    /// Converts each scalar in row-major order: `fast` for a plain number,
    /// `convert` for the rest (it decides or names the error). Returns the
    /// elements and where the walk ended.
    private static func read<Element: TensorElement>(
        _ raw: UnsafeRawBufferPointer,
        _ walk: Walk,
        expected: Int,
        context: Context,
        fast: (DecimalLiteral) -> Element?,
        _ convert: (Scalar, Int) throws(FerryError) -> Element
    ) throws(FerryError) -> (Data, Int)? {
        switch walk {
        case .checked:
            return try readChecked(raw, expected: expected, context: context, fast: fast, convert)
        case .inPlace(let start, let depthLeft):
            // A shape the text cannot fill is the checked path's error to name.
            guard expected <= (raw.count - start) / 2 + 1 else { return nil }
            var data = Data(count: expected * MemoryLayout<Element>.stride)
            let end = data.withUnsafeMutableBytes { output in
                readInPlace(raw, from: start, depthLeft: depthLeft, into: output.bindMemory(to: Element.self), fast: fast, convert)
            }
            guard let end else { return nil }
            return (data, end)
        }
    }

    /// One pass over unchecked text into `values`, which it must fill exactly.
    private static func readInPlace<Element: TensorElement>(
        _ raw: UnsafeRawBufferPointer,
        from start: Int,
        depthLeft: Int,
        into values: UnsafeMutableBufferPointer<Element>,
        fast: (DecimalLiteral) -> Element?,
        _ convert: (Scalar, Int) throws(FerryError) -> Element
    ) -> Int? {
        var count = 0
        let end = NumberArrayScan.walk(raw, from: start, depthLeft: depthLeft) { (decimal: DecimalLiteral, literal: Range<Int>) -> Bool in
            guard count < values.count else { return false }
            if let value = fast(decimal) {
                values[count] = value
            } else {
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: raw[literal]), as: UTF8.self)
                do {
                    values[count] = try convert(.number(text), count)
                } catch {
                    return false
                }
            }
            count &+= 1
            return true
        }
        return count == values.count ? end : nil
    }

    /// The checked text of a deferred array, walked byte by byte; counts what
    /// is beyond `expected` without converting it, for the message.
    private static func readChecked<Element: TensorElement>(
        _ raw: UnsafeRawBufferPointer,
        expected: Int,
        context: Context,
        fast: (DecimalLiteral) -> Element?,
        _ convert: (Scalar, Int) throws(FerryError) -> Element
    ) throws(FerryError) -> (Data, Int) {
        // Sized from the text actually sent (a number and its comma take
        // 2 bytes at least), never from the claimed shape.
        let capacity = min(expected, raw.count / 2 + 1)
        var data = Data(count: capacity * MemoryLayout<Element>.stride)
        let result: Result<Int, FerryError> = data.withUnsafeMutableBytes { output in
            let values = output.bindMemory(to: Element.self)
            var count = 0
            var position = 0
            do throws(FerryError) {
                while position < raw.count {
                    let byte = raw[position]
                    switch byte {
                    case UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: ","), 0x20, 0x0A, 0x0D, 0x09:
                        position &+= 1
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "n"):
                        let kind = byte == UInt8(ascii: "n") ? "null" : "an object"
                        throw FerryError(
                            .invalidArgument, "input '\(context.tensorName)': 'data' must hold numbers, booleans or strings, not \(kind)")
                    default:
                        break
                    }
                    let start = position
                    if let decimal = DecimalLiteral(raw, &position) {
                        if count < capacity {
                            if let value = fast(decimal) {
                                values[count] = value
                            } else {
                                let literal = String(decoding: UnsafeRawBufferPointer(rebasing: raw[start..<position]), as: UTF8.self)
                                values[count] = try convert(.number(literal), count)
                            }
                        }
                    } else {
                        let scalar = try Self.scalar(raw, &position, context: context)
                        if count < capacity { values[count] = try convert(scalar, count) }
                    }
                    count &+= 1
                }
                return .success(count)
            } catch {
                return .failure(error)
            }
        }
        let count = try result.get()
        guard count == expected else {
            throw FerryError(
                .invalidArgument,
                "input '\(context.tensorName)': shape \(context.shape) has \(expected) elements, but 'data' holds \(count)")
        }
        return (data, raw.count)
    }

    /// The scalar at `position` that is not a decimal (the parser checked
    /// the text), moving past it.
    private static func scalar(_ raw: UnsafeRawBufferPointer, _ position: inout Int, context: Context) throws(FerryError) -> Scalar {
        let start = position
        func literal() -> String {
            String(decoding: UnsafeRawBufferPointer(rebasing: raw[start..<position]), as: UTF8.self)
        }
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
            return .number(literal())
        case UInt8(ascii: "I"):
            position += 8
            return .number(literal())
        case UInt8(ascii: "-") where position + 1 < raw.count && raw[position + 1] == UInt8(ascii: "I"):
            position += 9
            return .number(literal())
        default:
            throw FerryError(.internal, "input '\(context.tensorName)': unreadable 'data' at byte \(position)")
        }
    }
}
