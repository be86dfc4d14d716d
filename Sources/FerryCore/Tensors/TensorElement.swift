/// A Swift type whose memory layout is the element layout of a v2 datatype.
public protocol TensorElement: Sendable {
    static var dataType: DataType { get }
}

extension Bool: TensorElement { public static var dataType: DataType { .bool } }
extension UInt8: TensorElement { public static var dataType: DataType { .uint8 } }
extension UInt16: TensorElement { public static var dataType: DataType { .uint16 } }
extension UInt32: TensorElement { public static var dataType: DataType { .uint32 } }
extension UInt64: TensorElement { public static var dataType: DataType { .uint64 } }
extension Int8: TensorElement { public static var dataType: DataType { .int8 } }
extension Int16: TensorElement { public static var dataType: DataType { .int16 } }
extension Int32: TensorElement { public static var dataType: DataType { .int32 } }
extension Int64: TensorElement { public static var dataType: DataType { .int64 } }
extension Float: TensorElement { public static var dataType: DataType { .fp32 } }
extension Double: TensorElement { public static var dataType: DataType { .fp64 } }
#if arch(x86_64) || arch(arm64)
    extension Float16: TensorElement { public static var dataType: DataType { .fp16 } }
#endif

extension Float {
    /// Converts with round-to-odd: an inexact result gets its last bit set.
    /// Rounding that Float again to a type with at least two fewer significand
    /// bits (Float16, bfloat16) then equals rounding the Double directly.
    public init(roundingToOdd value: Double) {
        let nearest = Float(value)
        guard nearest.isFinite, Double(nearest) != value else {
            self = nearest
            return
        }
        // Of the two Floats around `value`, take the one toward zero (one step
        // down in magnitude is bitPattern - 1 in sign-magnitude encoding), then
        // force its last bit: that is whichever of the two has an odd last bit.
        let towardZero = abs(Double(nearest)) > abs(value) ? Float(bitPattern: nearest.bitPattern - 1) : nearest
        self = Float(bitPattern: towardZero.bitPattern | 1)
    }
}

/// bfloat16: the upper 16 bits of an IEEE float32.
public struct BFloat16: TensorElement, Hashable, CustomStringConvertible {
    public static var dataType: DataType { .bf16 }
    public var bitPattern: UInt16

    public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    /// Rounds to nearest, ties to even, as ONNX Runtime's Cast does; NaN stays NaN.
    public init(_ value: Float) {
        let bits = value.bitPattern
        if value.isNaN {
            bitPattern = UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
            return
        }
        let roundingBias = UInt32(0x7FFF) + ((bits >> 16) & 1)
        bitPattern = UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    public var floatValue: Float { Float(bitPattern: UInt32(bitPattern) << 16) }
    public var description: String { floatValue.description }
}
