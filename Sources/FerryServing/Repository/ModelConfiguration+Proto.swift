import FerryCore
import FerryProtocol
import SwiftProtobuf

extension ModelConfiguration {
    /// Parses Triton's `config.pbtxt` (protobuf text format of `inference.ModelConfig`).
    public init(pbtxt text: String, modelName: String) throws(FerryError) {
        let message: Inference_ModelConfig
        do {
            // Fields of Triton's ModelConfig that Ferry does not carry (optimization,
            // sequence_batching, …) are skipped, so Triton repositories load unchanged.
            var options = TextFormatDecodingOptions()
            options.ignoreUnknownFields = true
            message = try Inference_ModelConfig(textFormatString: text, options: options)
        } catch {
            throw FerryError(.failedPrecondition, "model '\(modelName)': config.pbtxt is not valid: \(error)")
        }
        try self.init(message: message, modelName: modelName)
    }

    init(message: Inference_ModelConfig, modelName: String) throws(FerryError) {
        func fail(_ field: String, _ problem: String) -> FerryError {
            FerryError(.failedPrecondition, "model '\(modelName)': config field \(field) \(problem)")
        }
        guard message.name.isEmpty || message.name == modelName else {
            throw fail("name", "is '\(message.name)', but the model's directory is '\(modelName)'")
        }
        let platforms = ["", "onnxruntime_onnx"]
        guard platforms.contains(message.platform) else {
            throw fail("platform", "is '\(message.platform)'; Ferry serves onnxruntime_onnx models")
        }
        guard ["", "onnxruntime"].contains(message.backend) else {
            throw fail("backend", "is '\(message.backend)'; Ferry serves the onnxruntime backend")
        }
        self.init(name: modelName, maxBatchSize: Int(message.maxBatchSize))
        inputs = try message.input.map { input throws(FerryError) in
            try Self.tensor(input.name, input.dataType, input.dims, input.hasReshape ? input.reshape.shape : nil, field: "input", fail)
        }
        outputs = try message.output.map { output throws(FerryError) in
            try Self.tensor(
                output.name, output.dataType, output.dims, output.hasReshape ? output.reshape.shape : nil, field: "output", fail)
        }
        switch message.versionPolicy.policyChoice {
        case .latest(let latest)?:
            guard latest.numVersions > 0 else { throw fail("version_policy.latest.num_versions", "must be at least 1") }
            versionPolicy = .latest(Int(latest.numVersions))
        case .all?: versionPolicy = .all
        case .specific(let specific)?: versionPolicy = .specific(specific.versions)
        case nil: versionPolicy = .latest(1)
        }
        instanceGroups = try message.instanceGroup.enumerated().map { index, group throws(FerryError) in
            try Self.instanceGroup(group, index: index, fail)
        }
        // As configured; where GPU groups land, loading settles the number.
        let total = instanceGroups.reduce(0) { $0 + $1.count }
        instanceCount = total > 0 ? total : nil
        gpuAccelerators = try Self.accelerators(message.optimization.executionAccelerators, fail)
        cpuAccelerators = message.optimization.executionAccelerators.cpuExecutionAccelerator.map {
            ExecutionAccelerator(name: $0.name, parameters: $0.parameters)
        }
        if case .dynamicBatching(let batching)? = message.schedulingChoice {
            var dynamic = DynamicBatching()
            dynamic.preferredBatchSizes = batching.preferredBatchSize.map { Int($0) }
            dynamic.maxQueueDelayMicroseconds = batching.maxQueueDelayMicroseconds
            dynamic.priorityLevels = batching.priorityLevels
            dynamic.defaultPriorityLevel = batching.defaultPriorityLevel
            let policy = batching.defaultQueuePolicy
            dynamic.defaultQueuePolicy.timeoutAction = policy.timeoutAction == .delay ? .delay : .reject
            dynamic.defaultQueuePolicy.defaultTimeoutMicroseconds = policy.defaultTimeoutMicroseconds
            dynamic.defaultQueuePolicy.allowTimeoutOverride = policy.allowTimeoutOverride
            dynamic.defaultQueuePolicy.maxQueueSize = policy.maxQueueSize
            if let oversized = dynamic.preferredBatchSizes.first(where: { $0 < 1 || ($0 > maxBatchSize && maxBatchSize > 0) }) {
                throw fail("dynamic_batching.preferred_batch_size", "has \(oversized), outside 1...max_batch_size (\(maxBatchSize))")
            }
            dynamicBatching = dynamic
        }
        if !message.defaultModelFilename.isEmpty { defaultModelFilename = message.defaultModelFilename }
        parameters = message.parameters.mapValues { $0.stringValue }
        warmups = try message.modelWarmup.map { warmup throws(FerryError) in try Self.warmup(warmup, fail) }
        _ = try versionLabels()
    }

    private static func tensor(
        _ name: String,
        _ type: Inference_DataType,
        _ dims: [Int64],
        _ reshape: [Int64]?,
        field: String,
        _ fail: (String, String) -> FerryError
    ) throws(FerryError) -> Tensor {
        guard !name.isEmpty else { throw fail(field, "has an entry without a name") }
        guard let datatype = DataType(triton: type) else {
            throw fail("\(field) '\(name)' data_type", "is \(type); it must be one of TYPE_BOOL … TYPE_STRING, TYPE_BF16")
        }
        if let bad = dims.first(where: { $0 < -1 || $0 == 0 }) { throw fail("\(field) '\(name)' dims", "has \(bad)") }
        return Tensor(name: name, datatype: datatype, dims: dims.map { Int($0) }, reshape: reshape.map { $0.map { Int($0) } })
    }

    private static func warmup(_ sample: Inference_ModelWarmup, _ fail: (String, String) -> FerryError) throws(FerryError) -> Warmup {
        guard !sample.name.isEmpty else { throw fail("model_warmup", "has an entry without a name") }
        let field = "model_warmup '\(sample.name)'"
        guard !sample.inputs.isEmpty else { throw fail(field, "has no inputs") }
        let inputs = try sample.inputs.keys.sorted().map { name throws(FerryError) -> Warmup.Input in
            let input = sample.inputs[name]!
            guard let datatype = DataType(triton: input.dataType) else {
                throw fail("\(field) input '\(name)' data_type", "is \(input.dataType); it must be one of TYPE_BOOL … TYPE_STRING, TYPE_BF16")
            }
            if let bad = input.dims.first(where: { $0 < 0 }) {
                throw fail("\(field) input '\(name)' dims", "has \(bad); warmup shapes must be fixed")
            }
            let values: Warmup.Values
            switch input.inputDataType {
            case .zeroData?: values = .zero
            case .randomData?: values = .random
            case .inputDataFile(let file)?:
                guard !file.isEmpty, !file.hasPrefix("/"), !file.split(separator: "/").contains("..") else {
                    throw fail("\(field) input '\(name)' input_data_file", "is '\(file)'; it must name a file inside the model's warmup directory")
                }
                values = .file(file)
            case nil: throw fail("\(field) input '\(name)'", "sets none of zero_data, random_data, input_data_file")
            }
            return Warmup.Input(name: name, datatype: datatype, dims: input.dims.map { Int($0) }, values: values)
        }
        return Warmup(name: sample.name, batchSize: Int(sample.batchSize), inputs: inputs, count: Int(sample.count))
    }

    /// The configuration as Triton's `ModelConfig` message (gRPC `ModelConfig`).
    public var message: Inference_ModelConfig {
        var message = Inference_ModelConfig()
        message.name = name
        message.platform = platform
        message.backend = backend
        message.maxBatchSize = Int32(clamping: maxBatchSize)
        message.defaultModelFilename = defaultModelFilename
        message.input = inputs.map { tensor in
            var input = Inference_ModelInput()
            input.name = tensor.name
            input.dataType = tensor.datatype.tritonType
            input.dims = tensor.dims.map { Int64($0) }
            if let reshape = tensor.reshape { input.reshape.shape = reshape.map { Int64($0) } }
            return input
        }
        message.output = outputs.map { tensor in
            var output = Inference_ModelOutput()
            output.name = tensor.name
            output.dataType = tensor.datatype.tritonType
            output.dims = tensor.dims.map { Int64($0) }
            if let reshape = tensor.reshape { output.reshape.shape = reshape.map { Int64($0) } }
            return output
        }
        switch versionPolicy {
        case .latest(let count): message.versionPolicy.latest.numVersions = UInt32(clamping: count)
        case .all: message.versionPolicy.all = Inference_ModelVersionPolicy.All()
        case .specific(let versions): message.versionPolicy.specific.versions = versions
        }
        if !instanceGroups.isEmpty {
            message.instanceGroup = instanceGroups.map { configured in
                var group = Inference_ModelInstanceGroup()
                group.name = configured.name.isEmpty ? name : configured.name
                group.count = Int32(clamping: configured.count)
                group.gpus = configured.gpus.map { Int32(clamping: $0) }
                switch configured.kind {
                case .auto: group.kind = .auto
                case .gpu: group.kind = .gpu
                case .cpu: group.kind = .cpu
                }
                return group
            }
        } else if let instanceCount {
            var group = Inference_ModelInstanceGroup()
            group.name = name
            group.count = Int32(clamping: instanceCount)
            group.kind = .cpu
            message.instanceGroup = [group]
        }
        func entries(_ accelerators: [ExecutionAccelerator]) -> [Inference_ModelOptimizationPolicy.ExecutionAccelerators.Accelerator] {
            accelerators.map { accelerator in
                var entry = Inference_ModelOptimizationPolicy.ExecutionAccelerators.Accelerator()
                entry.name = accelerator.name
                entry.parameters = accelerator.parameters
                return entry
            }
        }
        message.optimization.executionAccelerators.gpuExecutionAccelerator = entries(gpuAccelerators)
        message.optimization.executionAccelerators.cpuExecutionAccelerator = entries(cpuAccelerators)
        if gpuAccelerators.isEmpty && cpuAccelerators.isEmpty { message.clearOptimization() }
        if let dynamicBatching {
            var batching = Inference_ModelDynamicBatching()
            batching.preferredBatchSize = dynamicBatching.preferredBatchSizes.map { Int32(clamping: $0) }
            batching.maxQueueDelayMicroseconds = dynamicBatching.maxQueueDelayMicroseconds
            batching.priorityLevels = dynamicBatching.priorityLevels
            batching.defaultPriorityLevel = dynamicBatching.defaultPriorityLevel
            let policy = dynamicBatching.defaultQueuePolicy
            batching.defaultQueuePolicy.timeoutAction = policy.timeoutAction == .delay ? .delay : .reject
            batching.defaultQueuePolicy.defaultTimeoutMicroseconds = policy.defaultTimeoutMicroseconds
            batching.defaultQueuePolicy.allowTimeoutOverride = policy.allowTimeoutOverride
            batching.defaultQueuePolicy.maxQueueSize = policy.maxQueueSize
            message.dynamicBatching = batching
        }
        message.modelWarmup = warmups.map { warmup in
            var sample = Inference_ModelWarmup()
            sample.name = warmup.name
            sample.batchSize = UInt32(clamping: warmup.batchSize)
            sample.count = UInt32(clamping: warmup.count)
            for input in warmup.inputs {
                var value = Inference_ModelWarmup.Input()
                value.dataType = input.datatype.tritonType
                value.dims = input.dims.map { Int64($0) }
                switch input.values {
                case .zero: value.zeroData = true
                case .random: value.randomData = true
                case .file(let file): value.inputDataFile = file
                }
                sample.inputs[input.name] = value
            }
            return sample
        }
        message.parameters = parameters.mapValues { value in
            var parameter = Inference_ModelParameter()
            parameter.stringValue = value
            return parameter
        }
        return message
    }
}

extension DataType {
    init?(triton type: Inference_DataType) {
        switch type {
        case .typeBool: self = .bool
        case .typeUint8: self = .uint8
        case .typeUint16: self = .uint16
        case .typeUint32: self = .uint32
        case .typeUint64: self = .uint64
        case .typeInt8: self = .int8
        case .typeInt16: self = .int16
        case .typeInt32: self = .int32
        case .typeInt64: self = .int64
        case .typeFp16: self = .fp16
        case .typeFp32: self = .fp32
        case .typeFp64: self = .fp64
        case .typeString: self = .bytes
        case .typeBf16: self = .bf16
        default: return nil
        }
    }

    var tritonType: Inference_DataType {
        switch self {
        case .bool: .typeBool
        case .uint8: .typeUint8
        case .uint16: .typeUint16
        case .uint32: .typeUint32
        case .uint64: .typeUint64
        case .int8: .typeInt8
        case .int16: .typeInt16
        case .int32: .typeInt32
        case .int64: .typeInt64
        case .fp16: .typeFp16
        case .fp32: .typeFp32
        case .fp64: .typeFp64
        case .bytes: .typeString
        case .bf16: .typeBf16
        }
    }
}
