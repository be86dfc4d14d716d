import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The request `ferry bench` sends: random tensors for `--input
/// NAME:SHAPE[:DATATYPE]` specs (shape as 1,64 or 1x64), or for every input
/// of the model's metadata with dynamic dimensions set to 1.
public enum BenchmarkRequest {
    public struct InputSpec: Sendable, Hashable {
        public var name: String
        public var shape: [Int]
        public var datatype: DataType?

        /// Parses `NAME:SHAPE[:DATATYPE]`.
        public init(parsing text: String) throws(FerryError) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 || parts.count == 3, !parts[0].isEmpty else {
                throw FerryError(.invalidArgument, "an input is NAME:SHAPE[:DATATYPE], e.g. input:1,64:FP32 (got '\(text)')")
            }
            let dims = parts[1].split(whereSeparator: { $0 == "," || $0 == "x" }).map { Int($0) }
            guard !dims.isEmpty, dims.allSatisfy({ ($0 ?? -1) >= 0 }) else {
                throw FerryError(.invalidArgument, "the shape in '\(text)' must be non-negative integers separated by , or x")
            }
            name = parts[0]
            shape = dims.map { $0! }
            datatype = parts.count == 3 ? try DataType(v2Name: parts[2].uppercased()) : nil
        }
    }

    public static func make(specs: [InputSpec], metadata: RemoteModelMetadata) throws(FerryError) -> InferenceRequest {
        var generator = SystemRandomNumberGenerator()
        if specs.isEmpty {
            return InferenceRequest(
                inputs: metadata.inputs.map { input in
                    random(
                        name: input.name, datatype: input.datatype, shape: input.shape.dimensions.map { $0 < 0 ? 1 : $0 }, using: &generator
                    )
                }
            )
        }
        return InferenceRequest(
            inputs: try specs.map { spec throws(FerryError) in
                guard let datatype = spec.datatype ?? metadata.inputs.first(where: { $0.name == spec.name })?.datatype else {
                    throw FerryError(
                        .invalidArgument,
                        "model '\(metadata.name)' has no input named '\(spec.name)' (its inputs: \(metadata.inputs.map { $0.name }.joined(separator: ", ")))"
                    )
                }
                return random(name: spec.name, datatype: datatype, shape: spec.shape, using: &generator)
            }
        )
    }

    /// Random values in a modest range for every datatype (floats in [-1, 1],
    /// integers 0…99, 8-letter strings).
    static func random(name: String, datatype: DataType, shape: [Int], using generator: inout some RandomNumberGenerator) -> Tensor {
        let count = TensorShape(shape).elementCount ?? 0
        let shape = TensorShape(shape)
        func ints<T: FixedWidthInteger & TensorElement>(_: T.Type) -> Tensor {
            Tensor(
                name: name, shape: shape, values: (0..<count).map { _ in T(truncatingIfNeeded: Int.random(in: 0..<100, using: &generator)) }
            )
        }
        switch datatype {
        case .bool: return Tensor(name: name, shape: shape, values: (0..<count).map { _ in Bool.random(using: &generator) })
        case .uint8: return ints(UInt8.self)
        case .uint16: return ints(UInt16.self)
        case .uint32: return ints(UInt32.self)
        case .uint64: return ints(UInt64.self)
        case .int8: return ints(Int8.self)
        case .int16: return ints(Int16.self)
        case .int32: return ints(Int32.self)
        case .int64: return ints(Int64.self)
        case .fp16:
            return Tensor(name: name, shape: shape, values: (0..<count).map { _ in Float16(Float.random(in: -1...1, using: &generator)) })
        case .bf16:
            return Tensor(name: name, shape: shape, values: (0..<count).map { _ in BFloat16(Float.random(in: -1...1, using: &generator)) })
        case .fp32: return Tensor(name: name, shape: shape, values: (0..<count).map { _ in Float.random(in: -1...1, using: &generator) })
        case .fp64: return Tensor(name: name, shape: shape, values: (0..<count).map { _ in Double.random(in: -1...1, using: &generator) })
        case .bytes:
            let letters = Array("abcdefghijklmnopqrstuvwxyz")
            return Tensor(
                name: name, shape: shape,
                strings: (0..<count).map { _ in String((0..<8).map { _ in letters.randomElement(using: &generator)! }) })
        }
    }
}
