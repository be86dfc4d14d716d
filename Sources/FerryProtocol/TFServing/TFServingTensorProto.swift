import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Converts between TensorFlow's `TensorProto` and Ferry's tensors.
///
/// A client may send values as raw little-endian bytes (`tensor_content`,
/// what `tf.make_tensor_proto` writes for numbers) or in the typed field of
/// the dtype (`float_val`, `int_val`, `string_val`, …). As in TensorFlow, a
/// typed field with a single value fills the whole shape. Responses carry
/// numbers in `tensor_content` and strings in `string_val`, as TF Serving's do.
public enum TFServingTensorProto {
    public static func tensor(_ proto: Tensorflow_TensorProto, name: String) throws(FerryError) -> Tensor {
        let datatype = try DataType(tensorflow: proto.dtype, tensor: name)
        guard !proto.tensorShape.unknownRank else {
            throw FerryError(.invalidArgument, "input '\(name)': tensor_shape has unknown_rank; a request tensor needs its shape")
        }
        let shape = try TensorHeader.shape(proto.tensorShape.dim.map(\.size), role: "input", tensor: name)
        let count = shape.elementCount ?? 0  // TensorHeader.shape refused shapes without a count
        if datatype != .bytes, !proto.tensorContent.isEmpty {
            let expected = count * (datatype.elementSize ?? 0)
            guard proto.tensorContent.count == expected else {
                throw FerryError(
                    .invalidArgument,
                    "input '\(name)': tensor_content holds \(proto.tensorContent.count) bytes, but \(datatype.tensorflowName) \(shape) needs \(expected)"
                )
            }
            return Tensor(name: name, datatype: datatype, shape: shape, data: proto.tensorContent)
        }
        func pack<Field, Element: TensorElement>(_ values: [Field], _ field: String, _ convert: (Field) -> Element?) throws(FerryError) -> Tensor {
            let filled = try filled(values, count: count, field: field, name: name)
            var converted: [Element] = []
            converted.reserveCapacity(filled.count)
            for (index, value) in filled.enumerated() {
                guard let element = convert(value) else {
                    throw FerryError(.invalidArgument, "input '\(name)': \(field) value \(index) is \(value), outside the range of \(datatype.tensorflowName)")
                }
                converted.append(element)
            }
            var tensor = Tensor(name: name, shape: shape, values: converted)
            tensor.datatype = datatype
            return tensor
        }
        switch datatype {
        case .bool: return try pack(proto.boolVal, "bool_val") { $0 }
        case .uint8: return try pack(proto.intVal, "int_val") { UInt8(exactly: $0) }
        case .uint16: return try pack(proto.intVal, "int_val") { UInt16(exactly: $0) }
        case .uint32: return try pack(proto.uint32Val, "uint32_val") { $0 }
        case .uint64: return try pack(proto.uint64Val, "uint64_val") { $0 }
        case .int8: return try pack(proto.intVal, "int_val") { Int8(exactly: $0) }
        case .int16: return try pack(proto.intVal, "int_val") { Int16(exactly: $0) }
        case .int32: return try pack(proto.intVal, "int_val") { $0 }
        case .int64: return try pack(proto.int64Val, "int64_val") { $0 }
        case .fp16: return try pack(proto.halfVal, "half_val") { UInt16(exactly: $0).map { Float16(bitPattern: $0) } }
        case .bf16: return try pack(proto.halfVal, "half_val") { UInt16(exactly: $0).map { BFloat16(bitPattern: $0) } }
        case .fp32: return try pack(proto.floatVal, "float_val") { $0 }
        case .fp64: return try pack(proto.doubleVal, "double_val") { $0 }
        case .bytes: return Tensor(name: name, shape: shape, elements: try filled(proto.stringVal, count: count, field: "string_val", name: name))
        }
    }

    /// The values of a typed field for `count` elements: exactly `count`, or a
    /// single value repeated (TensorFlow's fill rule), or none for an empty tensor.
    private static func filled<Value>(_ values: [Value], count: Int, field: String, name: String) throws(FerryError) -> [Value] {
        if values.count == count { return values }
        if values.count == 1 { return Array(repeating: values[0], count: count) }
        throw FerryError(
            .invalidArgument, "input '\(name)': its shape holds \(count) elements, but \(field) has \(values.count) values")
    }

    public static func proto(_ tensor: Tensor) throws(FerryError) -> Tensorflow_TensorProto {
        var proto = Tensorflow_TensorProto()
        proto.dtype = tensor.datatype.tensorflow
        proto.tensorShape = shape(tensor.shape)
        if tensor.datatype == .bytes {
            proto.stringVal = try tensor.byteElements()
        } else {
            proto.tensorContent = tensor.data
        }
        return proto
    }

    public static func shape(_ shape: TensorShape) -> Tensorflow_TensorShapeProto {
        var proto = Tensorflow_TensorShapeProto()
        proto.dim = shape.dimensions.map { size in
            var dim = Tensorflow_TensorShapeProto.Dim()
            dim.size = Int64(size)
            return dim
        }
        return proto
    }
}

extension TFServingTensorProto {
    /// The bytes a Predict request's tensors hold, for the request size limit.
    public static func payloadBytes(_ request: Tensorflow_Serving_PredictRequest) -> Int {
        request.inputs.values.reduce(0) { total, tensor in
            let typed =
                tensor.floatVal.count * 4 + tensor.doubleVal.count * 8 + tensor.intVal.count * 4 + tensor.int64Val.count * 8
                + tensor.boolVal.count + tensor.halfVal.count * 2 + tensor.uint32Val.count * 4 + tensor.uint64Val.count * 8
            return total + tensor.tensorContent.count + typed + tensor.stringVal.reduce(0) { $0 + $1.count }
        }
    }
}
