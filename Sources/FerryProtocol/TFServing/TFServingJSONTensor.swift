import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Tensors as TensorFlow Serving's REST API writes them: nested JSON lists
/// whose nesting is the shape, numbers, booleans, strings, and `{"b64": "…"}`
/// for binary strings.
enum TFServingJSONTensor {
    /// A value's shape (from its nesting) and its leaves in row-major order.
    static func leaves(_ value: JSONValue, tensor name: String) throws(FerryError) -> (shape: [Int], leaves: [JSONValue]) {
        var leaves: [JSONValue] = []
        let shape = try collect(value, into: &leaves, tensor: name, depth: 0)
        return (shape, leaves)
    }

    private static func collect(_ value: JSONValue, into leaves: inout [JSONValue], tensor name: String, depth: Int) throws(FerryError)
        -> [Int]
    {
        switch value {
        case .array(let elements):
            var inner: [Int]?
            for element in elements {
                let shape = try collect(element, into: &leaves, tensor: name, depth: depth + 1)
                if let inner, inner != shape {
                    throw FerryError(
                        .invalidArgument,
                        "input '\(name)': its lists are ragged (at depth \(depth + 1), one has shape \(inner) and another \(shape)); a tensor's lists must all have the same length"
                    )
                }
                inner = shape
            }
            return [elements.count] + (inner ?? [])
        case .object(let members) where members.count == 1 && members["b64"] != nil:
            leaves.append(value)
            return []
        case .object, .null:
            throw FerryError(
                .invalidArgument,
                "input '\(name)': a tensor value holds numbers, booleans, strings or {\"b64\": \"…\"}, not \(value.kindDescription)")
        default:
            leaves.append(value)
            return []
        }
    }

    static func isBase64Leaf(_ value: JSONValue) -> Bool {
        if case .object(let members) = value, members.count == 1, members["b64"] != nil { return true }
        return false
    }

    /// A tensor of `datatype` from leaves gathered for `shape`.
    static func tensor(name: String, datatype: DataType, shape: [Int], leaves: [JSONValue]) throws(FerryError) -> Tensor {
        let tensorShape = TensorShape(shape)
        if datatype == .bytes {
            var elements: [Data] = []
            elements.reserveCapacity(leaves.count)
            for (index, leaf) in leaves.enumerated() {
                switch leaf {
                case .string(let text):
                    elements.append(Data(text.utf8))
                case .object(let members):
                    guard case .string(let encoded)? = members["b64"], let bytes = Data(base64Encoded: encoded) else {
                        throw FerryError(.invalidArgument, "input '\(name)': value \(index) has a \"b64\" member that is not base64 text")
                    }
                    elements.append(bytes)
                default:
                    throw FerryError(
                        .invalidArgument, "input '\(name)': value \(index) is \(leaf.kindDescription), but a DT_STRING input takes strings")
                }
            }
            return Tensor(name: name, shape: tensorShape, elements: elements)
        }
        if let index = leaves.firstIndex(where: isBase64Leaf) {
            throw FerryError(
                .invalidArgument,
                "input '\(name)': value \(index) is {\"b64\": …}, which only DT_STRING inputs take; this input is \(datatype.tensorflowName)")
        }
        let data = try TensorJSONCoding.decode(.array(leaves), datatype: datatype, shape: [leaves.count], tensorName: name)
        return Tensor(name: name, datatype: datatype, shape: tensorShape, data: data)
    }

    /// Writes a tensor's elements as nested lists, TF Serving's way: BYTES
    /// elements as strings, or as `{"b64": …}` when the output's name ends in
    /// `_bytes` or the bytes are not UTF-8 text (a JSON string would alter them).
    struct Writer {
        let tensor: Tensor
        private let strings: [Data]
        private let base64: Bool

        init(_ tensor: Tensor) throws(FerryError) {
            self.tensor = tensor
            strings = tensor.datatype == .bytes ? try tensor.byteElements() : []
            base64 = tensor.name.hasSuffix("_bytes")
        }

        /// The elements under `dims`, starting at element `offset`.
        func write(dims: ArraySlice<Int>, offset: Int, to writer: inout JSONWriter) {
            guard let first = dims.first else {
                element(offset, to: &writer)
                return
            }
            let inner = dims.dropFirst()
            let stride = inner.reduce(1, *)
            writer.raw("[")
            for index in 0..<first {
                if index > 0 { writer.raw(",") }
                write(dims: inner, offset: offset + index * stride, to: &writer)
            }
            writer.raw("]")
        }

        private func element(_ index: Int, to writer: inout JSONWriter) {
            guard tensor.datatype == .bytes else {
                // Only BYTES elements can fail to write, and those are handled below.
                try? TensorJSONCoding.writeElement(tensor, at: index, to: &writer)
                return
            }
            let bytes = strings[index]
            if !base64, String(validating: bytes, as: UTF8.self) != nil {
                writer.string(utf8: bytes)
            } else {
                writer.object { object in object.member("b64") { $0.string(bytes.base64EncodedString()) } }
            }
        }
    }
}
