import FerryCore

/// TensorFlow's data types for the tensor types Ferry serves.
extension DataType {
    public var tensorflow: Tensorflow_DataType {
        switch self {
        case .bool: .dtBool
        case .uint8: .dtUint8
        case .uint16: .dtUint16
        case .uint32: .dtUint32
        case .uint64: .dtUint64
        case .int8: .dtInt8
        case .int16: .dtInt16
        case .int32: .dtInt32
        case .int64: .dtInt64
        case .fp16: .dtHalf
        case .bf16: .dtBfloat16
        case .fp32: .dtFloat
        case .fp64: .dtDouble
        case .bytes: .dtString
        }
    }

    /// The name TF Serving's REST API writes (`DT_FLOAT`).
    public var tensorflowName: String {
        switch self {
        case .bool: "DT_BOOL"
        case .uint8: "DT_UINT8"
        case .uint16: "DT_UINT16"
        case .uint32: "DT_UINT32"
        case .uint64: "DT_UINT64"
        case .int8: "DT_INT8"
        case .int16: "DT_INT16"
        case .int32: "DT_INT32"
        case .int64: "DT_INT64"
        case .fp16: "DT_HALF"
        case .bf16: "DT_BFLOAT16"
        case .fp32: "DT_FLOAT"
        case .fp64: "DT_DOUBLE"
        case .bytes: "DT_STRING"
        }
    }

    /// The Ferry type of a TensorFlow one, or why there is none.
    public init(tensorflow type: Tensorflow_DataType, tensor: String) throws(FerryError) {
        guard let match = DataType.allCases.first(where: { $0.tensorflow == type }) else {
            throw FerryError(
                .invalidArgument,
                "input '\(tensor)': dtype \(type) has no ONNX counterpart Ferry serves (complex, quantized, resource and variant tensors are not supported)"
            )
        }
        self = match
    }
}
