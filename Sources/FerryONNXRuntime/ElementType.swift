import CONNXRuntime
import FerryCore

/// ONNX tensor element types ↔ v2 datatypes.
enum ElementType {
    static func dataType(_ type: ONNXTensorElementDataType) -> DataType? {
        switch type {
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: .bool
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: .uint8
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16: .uint16
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32: .uint32
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64: .uint64
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: .int8
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: .int16
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: .int32
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: .int64
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: .fp16
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: .bf16
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: .fp32
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: .fp64
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING: .bytes
        default: nil
        }
    }

    static func onnxType(_ type: DataType) -> ONNXTensorElementDataType {
        switch type {
        case .bool: ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL
        case .uint8: ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8
        case .uint16: ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16
        case .uint32: ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32
        case .uint64: ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64
        case .int8: ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8
        case .int16: ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16
        case .int32: ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32
        case .int64: ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64
        case .fp16: ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16
        case .bf16: ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16
        case .fp32: ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT
        case .fp64: ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE
        case .bytes: ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING
        }
    }

    /// The name ONNX uses in type strings such as `tensor(float)`.
    static func onnxName(_ type: ONNXTensorElementDataType) -> String {
        let names = [
            "undefined", "float", "uint8", "int8", "uint16", "int16", "int32", "int64", "string", "bool",
            "float16", "double", "uint32", "uint64", "complex64", "complex128", "bfloat16",
        ]
        let index = Int(type.rawValue)
        return names.indices.contains(index) ? names[index] : "element type \(index)"
    }
}
