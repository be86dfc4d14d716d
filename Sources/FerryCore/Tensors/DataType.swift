/// A tensor element type, named as the Open Inference Protocol (KServe v2) names it.
///
/// `BYTES` holds variable-length byte strings (ONNX string tensors); every other
/// type has a fixed element size.
public enum DataType: String, Sendable, CaseIterable, Hashable {
    case bool = "BOOL"
    case uint8 = "UINT8"
    case uint16 = "UINT16"
    case uint32 = "UINT32"
    case uint64 = "UINT64"
    case int8 = "INT8"
    case int16 = "INT16"
    case int32 = "INT32"
    case int64 = "INT64"
    case fp16 = "FP16"
    case bf16 = "BF16"
    case fp32 = "FP32"
    case fp64 = "FP64"
    case bytes = "BYTES"

    /// FP16, BF16, FP32 or FP64.
    public var isFloatingPoint: Bool { self == .fp16 || self == .bf16 || self == .fp32 || self == .fp64 }

    /// Bytes per element, or `nil` for `BYTES`.
    public var elementSize: Int? {
        switch self {
        case .bool, .uint8, .int8: 1
        case .uint16, .int16, .fp16, .bf16: 2
        case .uint32, .int32, .fp32: 4
        case .uint64, .int64, .fp64: 8
        case .bytes: nil
        }
    }

    /// Parses a v2 datatype name, with an error that lists the valid names.
    public init(v2Name name: String) throws(FerryError) {
        guard let type = DataType(rawValue: name) else {
            throw FerryError(
                .invalidArgument,
                "unknown datatype '\(name)' (expected one of \(DataType.allCases.map { $0.rawValue }.joined(separator: ", ")))"
            )
        }
        self = type
    }
}
