import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension ModelConfiguration {
    /// Triton's `model_warmup`: a synthetic request run on every instance
    /// before the version is marked ready, so the first client does not pay
    /// for lazy allocations and kernel selection.
    public struct Warmup: Sendable, Hashable {
        public enum Values: Sendable, Hashable {
            case zero
            case random
            /// A file in the model's `warmup/` directory: raw row-major
            /// elements (BYTES: each a 4-byte little-endian length, then the bytes).
            case file(String)
        }

        public struct Input: Sendable, Hashable {
            public var name: String
            public var datatype: DataType
            /// Without the batch dimension; every dimension fixed.
            public var dims: [Int]
            public var values: Values

            public init(name: String, datatype: DataType, dims: [Int], values: Values) {
                self.name = name
                self.datatype = datatype
                self.dims = dims
                self.values = values
            }
        }

        public var name: String
        /// Rows of the sample when the model batches (Triton: 0 for a model that does not).
        public var batchSize: Int
        /// Sorted by name, as the config's map has no order.
        public var inputs: [Input]
        /// How many times the sample runs on each instance (0 is taken as 1).
        public var count: Int

        public init(name: String, batchSize: Int, inputs: [Input], count: Int) {
            self.name = name
            self.batchSize = batchSize
            self.inputs = inputs
            self.count = count
        }
    }
}

extension ModelConfiguration.Warmup {
    /// The directory, inside the model's, that `input_data_file` names are read from.
    public static let directoryName = "warmup"

    /// The request the sample makes, shaped as a client would send it.
    /// `directory` is the model's directory (nil for a single-file repository).
    package func request(for config: ModelConfiguration, modelDirectory directory: String?) throws(FerryError) -> InferenceRequest {
        func fail(_ problem: String) -> FerryError {
            FerryError(.failedPrecondition, "model '\(config.name)': model_warmup '\(name)': \(problem)")
        }
        if config.maxBatchSize > 0 {
            guard (1...config.maxBatchSize).contains(batchSize) else {
                throw fail("batch_size is \(batchSize); it must be 1...max_batch_size (\(config.maxBatchSize))")
            }
        } else if batchSize > 1 {
            throw fail("batch_size is \(batchSize), but the model does not batch (max_batch_size 0)")
        }
        var seeds = SplitMix(seed: name.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 })
        let tensors = try inputs.map { input throws(FerryError) -> Tensor in
            let dims = config.maxBatchSize > 0 ? [batchSize] + input.dims : input.dims
            let shape = TensorShape(dims)
            guard let count = shape.elementCount else { throw fail("input '\(input.name)' has dims \(input.dims), which must all be fixed") }
            let data: Data
            switch input.values {
            case .zero:
                data =
                    input.datatype == .bytes
                    ? BytesTensorCoding.encode([[UInt8]](repeating: [], count: count))
                    : Data(count: count * (input.datatype.elementSize ?? 1))
            case .random:
                if input.datatype == .bytes {
                    data = BytesTensorCoding.encode((0..<count).map { _ in Array(String(seeds.next() % 1000).utf8) })
                } else {
                    data = Self.randomElements(count, of: input.datatype, &seeds)
                }
            case .file(let file):
                guard let directory else { throw fail("input '\(input.name)' reads \(file), but a single .onnx file has no warmup directory") }
                let path = directory + "/" + Self.directoryName + "/" + file
                guard let contents = FileManager.default.contents(atPath: path) else {
                    throw fail("input '\(input.name)': input_data_file \(Self.directoryName)/\(file) cannot be read")
                }
                if input.datatype == .bytes {
                    let elements = try BytesTensorCoding.count(contents, tensorName: input.name)
                    guard elements == count else {
                        throw fail("input '\(input.name)': \(Self.directoryName)/\(file) holds \(elements) strings; dims \(dims) need \(count)")
                    }
                } else {
                    let expected = count * (input.datatype.elementSize ?? 1)
                    guard contents.count == expected else {
                        throw fail(
                            "input '\(input.name)': \(Self.directoryName)/\(file) has \(contents.count) bytes; \(input.datatype.rawValue) dims \(dims) need \(expected)"
                        )
                    }
                }
                data = contents
            }
            return Tensor(name: input.name, datatype: input.datatype, shape: shape, data: data)
        }
        return InferenceRequest(inputs: tensors)
    }

    /// Values for a numeric type that stay small and finite, whatever the type
    /// (random bits would make NaNs, and indices far out of range).
    private static func randomElements(_ count: Int, of type: DataType, _ seeds: inout SplitMix) -> Data {
        var data = Data()
        for _ in 0..<count {
            let small = seeds.next() % 4  // 0...3
            switch type {
            case .bool: data.append(UInt8(small & 1))
            case .uint8, .int8: data.append(UInt8(small))
            case .uint16, .int16, .fp16, .bf16:
                let bits: UInt16 =
                    type == .fp16 ? [0x0000, 0x3C00, 0x4000, 0x4200][Int(small)] : type == .bf16 ? [0, 0x3F80, 0x4000, 0x4040][Int(small)] : UInt16(small)
                withUnsafeBytes(of: bits.littleEndian) { data.append(contentsOf: $0) }
            case .uint32, .int32: withUnsafeBytes(of: UInt32(small).littleEndian) { data.append(contentsOf: $0) }
            case .uint64, .int64: withUnsafeBytes(of: UInt64(small).littleEndian) { data.append(contentsOf: $0) }
            case .fp32: withUnsafeBytes(of: (Float(small) / 4).bitPattern.littleEndian) { data.append(contentsOf: $0) }
            case .fp64: withUnsafeBytes(of: (Double(small) / 4).bitPattern.littleEndian) { data.append(contentsOf: $0) }
            case .bytes: break
            }
        }
        return data
    }
}

/// A small deterministic generator: warmup samples are the same on every load.
struct SplitMix {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
