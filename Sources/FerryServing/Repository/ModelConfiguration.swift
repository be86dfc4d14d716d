import FerryCore

/// A model's serving configuration: what Triton's `config.pbtxt` says, or what
/// Ferry completes from the model file when there is none.
///
/// Shapes follow Triton's convention: when `maxBatchSize > 0` the first
/// (batch) dimension is implied and `dims` leave it out.
public struct ModelConfiguration: Sendable, Hashable {
    public struct Tensor: Sendable, Hashable {
        public var name: String
        public var datatype: DataType
        /// Dimensions without the batch dimension when the model batches; -1 = dynamic.
        public var dims: [Int]
        /// Triton's `reshape`: the shape the model sees, when it differs from `dims`.
        public var reshape: [Int]?

        public init(name: String, datatype: DataType, dims: [Int], reshape: [Int]? = nil) {
            self.name = name
            self.datatype = datatype
            self.dims = dims
            self.reshape = reshape
        }
    }

    public enum VersionPolicy: Sendable, Hashable {
        case latest(Int)
        case all
        case specific([Int64])

        /// The versions to serve out of those present, newest first.
        public func select(from available: [Int64]) -> [Int64] {
            let sorted = available.sorted(by: >)
            switch self {
            case .latest(let count): return Array(sorted.prefix(max(count, 1)))
            case .all: return sorted
            case .specific(let versions): return sorted.filter { versions.contains($0) }
            }
        }
    }

    public struct QueuePolicy: Sendable, Hashable {
        public enum TimeoutAction: String, Sendable, Hashable { case reject = "REJECT", delay = "DELAY" }
        public var timeoutAction: TimeoutAction = .reject
        public var defaultTimeoutMicroseconds: UInt64 = 0
        public var allowTimeoutOverride = false
        public var maxQueueSize: UInt32 = 0

        public init() {}
    }

    public struct DynamicBatching: Sendable, Hashable {
        public var preferredBatchSizes: [Int] = []
        public var maxQueueDelayMicroseconds: UInt64 = 0
        public var priorityLevels: UInt64 = 0
        public var defaultPriorityLevel: UInt64 = 0
        public var defaultQueuePolicy = QueuePolicy()

        public init() {}
    }

    public var name: String
    public var platform: String
    public var backend: String
    public var maxBatchSize: Int
    public var inputs: [Tensor]
    public var outputs: [Tensor]
    public var versionPolicy: VersionPolicy
    /// `instance_group { count }`; `nil` lets the server choose.
    public var instanceCount: Int?
    /// `instance_group` as configured (empty: `ferry serve --device`); once
    /// loaded, as placed.
    public var instanceGroups: [InstanceGroup] = []
    /// `optimization { execution_accelerators { gpu_execution_accelerator } }`.
    public var gpuAccelerators: [ExecutionAccelerator] = []
    /// `cpu_execution_accelerator`: kept so the config reads back as written,
    /// but ignored (with a warning) as by a Triton built without them.
    public var cpuAccelerators: [ExecutionAccelerator] = []
    public var dynamicBatching: DynamicBatching?
    public var defaultModelFilename: String
    public var parameters: [String: String]
    /// `model_warmup`: samples run on every instance before the version is ready.
    public var warmups: [Warmup] = []

    public init(
        name: String,
        platform: String = "onnxruntime_onnx",
        backend: String = "onnxruntime",
        maxBatchSize: Int = 0,
        inputs: [Tensor] = [],
        outputs: [Tensor] = [],
        versionPolicy: VersionPolicy = .latest(1),
        instanceCount: Int? = nil,
        dynamicBatching: DynamicBatching? = nil,
        defaultModelFilename: String = "model.onnx",
        parameters: [String: String] = [:]
    ) {
        self.name = name
        self.platform = platform
        self.backend = backend
        self.maxBatchSize = maxBatchSize
        self.inputs = inputs
        self.outputs = outputs
        self.versionPolicy = versionPolicy
        self.instanceCount = instanceCount
        self.dynamicBatching = dynamicBatching
        self.defaultModelFilename = defaultModelFilename
        self.parameters = parameters
    }
}

extension ModelConfiguration {
    /// Triton's default `max_batch_size` for a model whose every input and
    /// output has a dynamic first dimension (`--backend-config default-max-batch-size`;
    /// `ferry serve --default-max-batch-size`).
    public static let defaultMaxBatchSize = 4

    /// Completes a configuration from the model's own signature, as Triton's
    /// auto-complete does: fills in missing inputs, outputs and `max_batch_size`,
    /// and rejects anything that contradicts the model, naming the field.
    public func completed(
        with signature: ModelSignature,
        defaultMaxBatchSize: Int = Self.defaultMaxBatchSize,
        defaultBatching: DynamicBatching = DynamicBatching()
    ) throws(FerryError) -> ModelConfiguration {
        var config = self
        let tensors = signature.inputs + signature.outputs
        let batchable = !tensors.isEmpty && tensors.allSatisfy { $0.shape.rank >= 1 && $0.shape.dimensions[0] == -1 }
        if config.maxBatchSize < 0 {
            throw FerryError(
                .failedPrecondition, "model '\(name)': config field max_batch_size is \(config.maxBatchSize); it must be 0 or more")
        }
        if config.inputs.isEmpty && config.outputs.isEmpty && config.maxBatchSize == 0 && batchable && defaultMaxBatchSize > 0 {
            config.maxBatchSize = defaultMaxBatchSize
            if config.dynamicBatching == nil { config.dynamicBatching = defaultBatching }
        }
        if config.maxBatchSize > 0 && !batchable {
            let fixed = tensors.first { $0.shape.rank == 0 || $0.shape.dimensions[0] != -1 }!
            throw FerryError(
                .failedPrecondition,
                "model '\(name)': config field max_batch_size is \(config.maxBatchSize), but the model's \(fixed.name) has shape \(fixed.shapeDescription) with no dynamic first (batch) dimension"
            )
        }
        config.inputs = try Self.complete(
            config.inputs, from: signature.inputs, field: "input", model: name, batching: config.maxBatchSize > 0)
        config.outputs = try Self.complete(
            config.outputs, from: signature.outputs, field: "output", model: name, batching: config.maxBatchSize > 0)
        return config
    }

    private static func complete(
        _ configured: [Tensor],
        from specs: [TensorSpec],
        field: String,
        model: String,
        batching: Bool
    ) throws(FerryError) -> [Tensor] {
        for tensor in configured where !specs.contains(where: { $0.name == tensor.name }) {
            throw FerryError(
                .failedPrecondition,
                "model '\(model)': config field \(field) names '\(tensor.name)', which the model does not have (its \(field)s: \(specs.map { $0.name }.joined(separator: ", ")))"
            )
        }
        return try specs.map { spec throws(FerryError) -> Tensor in
            let modelDims = batching ? Array(spec.shape.dimensions.dropFirst()) : spec.shape.dimensions
            guard let tensor = configured.first(where: { $0.name == spec.name }) else {
                return Tensor(name: spec.name, datatype: spec.datatype, dims: modelDims)
            }
            guard tensor.datatype == spec.datatype else {
                throw FerryError(
                    .failedPrecondition,
                    "model '\(model)': config field \(field) '\(tensor.name)' has data_type TYPE_\(tensor.datatype.tritonName), but the model's is TYPE_\(spec.datatype.tritonName)"
                )
            }
            // With reshape the model sees `reshape`; without, it sees `dims`.
            if let reshape = tensor.reshape, !Self.sameElementCount(tensor.dims, reshape) {
                throw FerryError(
                    .failedPrecondition,
                    "model '\(model)': config field \(field) '\(tensor.name)' has dims \(tensor.dims) and reshape \(reshape), which hold different numbers of elements"
                )
            }
            let seen = tensor.reshape ?? tensor.dims
            let compatible = seen.count == modelDims.count && zip(seen, modelDims).allSatisfy { $0 == $1 || $0 == -1 || $1 == -1 }
            guard compatible else {
                throw FerryError(
                    .failedPrecondition,
                    "model '\(model)': config field \(field) '\(tensor.name)' has dims \(tensor.dims)\(batching ? " (plus the batch dimension)" : ""), but the model's shape is \(spec.shapeDescription)"
                )
            }
            return tensor
        }
    }

    /// Whether two shapes can hold the same elements: equal fixed products,
    /// or each with one -1 and equal products of the rest (Triton's rule).
    private static func sameElementCount(_ a: [Int], _ b: [Int]) -> Bool {
        func split(_ dims: [Int]) -> (wildcards: Int, product: Int?) {
            var product = 1
            for dim in dims where dim != -1 {
                let (next, overflow) = product.multipliedReportingOverflow(by: dim)
                if overflow { return (0, nil) }
                product = next
            }
            return (dims.filter { $0 == -1 }.count, product)
        }
        let (wildA, productA) = split(a)
        let (wildB, productB) = split(b)
        guard let productA, let productB, wildA <= 1, wildB <= 1, wildA == wildB else { return false }
        return productA == productB
    }
}

extension DataType {
    /// The name in Triton's `DataType` enum without its `TYPE_` prefix (BYTES is STRING there).
    public var tritonName: String { self == .bytes ? "STRING" : rawValue }
}
