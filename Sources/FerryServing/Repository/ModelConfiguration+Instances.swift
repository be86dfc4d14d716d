import FerryCore
import FerryProtocol

extension ModelConfiguration {
    /// Triton's `instance_group`: how many instances run, and where.
    public struct InstanceGroup: Sendable, Hashable {
        public enum Kind: String, Sendable, Hashable {
            /// A GPU when the machine has one the backend can use, else the CPU.
            case auto = "KIND_AUTO"
            case gpu = "KIND_GPU"
            case cpu = "KIND_CPU"
        }

        public var name: String
        public var kind: Kind
        /// Instances, per listed GPU for GPU groups; 0: the server's choice
        /// on the CPU, one per GPU.
        public var count: Int
        /// CUDA device ordinals (GPU groups); empty: every visible device.
        public var gpus: [Int]

        public init(name: String = "", kind: Kind, count: Int = 0, gpus: [Int] = []) {
            self.name = name
            self.kind = kind
            self.count = count
            self.gpus = gpus
        }
    }

    /// The `gpu_execution_accelerator` names Ferry knows, with the parameters
    /// each takes (Triton's names first, then ONNX Runtime's own option names).
    static let acceleratorParameters: [String: Set<String>] = [
        "tensorrt": [
            "precision_mode", "max_workspace_size_bytes", "minimum_segment_size", "max_partition_iterations",
            "trt_engine_cache_enable", "trt_engine_cache_path", "trt_timing_cache_enable", "trt_timing_cache_path",
            "trt_max_workspace_size", "trt_fp16_enable", "trt_min_subgraph_size", "trt_max_partition_iterations",
            "trt_builder_optimization_level", "trt_cuda_graph_enable", "trt_layer_norm_fp32_fallback",
            "trt_force_sequential_engine_build", "trt_dump_subgraphs", "trt_sparsity_enable", "trt_auxiliary_streams",
            "trt_detailed_build_log", "trt_build_heuristics_enable", "trt_context_memory_sharing_enable",
        ],
        "cuda": [
            "gpu_mem_limit", "arena_extend_strategy", "cudnn_conv_algo_search", "do_copy_in_default_stream",
            "cudnn_conv_use_max_workspace", "cudnn_conv1d_pad_to_nc1d", "enable_cuda_graph", "use_tf32", "prefer_nhwc",
            "tunable_op_enable", "tunable_op_tuning_enable",
        ],
    ]

    static func instanceGroup(
        _ group: InstanceGroupMessage, index: Int, _ fail: (String, String) -> FerryError
    ) throws(FerryError) -> InstanceGroup {
        let field = group.name.isEmpty ? "instance_group[\(index)]" : "instance_group '\(group.name)'"
        guard group.count >= 0 else { throw fail("\(field) count", "is \(group.count)") }
        let kind: InstanceGroup.Kind
        switch group.kind {
        case .auto: kind = .auto
        case .gpu: kind = .gpu
        case .cpu: kind = .cpu
        case .model:
            throw fail("\(field) kind", "is KIND_MODEL; Ferry places instances itself: use KIND_GPU, KIND_CPU or KIND_AUTO")
        case .UNRECOGNIZED(let value): throw fail("\(field) kind", "is \(value), which is not a Kind")
        }
        if kind == .cpu && !group.gpus.isEmpty {
            throw fail("\(field) gpus", "lists \(group.gpus.map(String.init).joined(separator: ", ")), but the group is KIND_CPU")
        }
        if let negative = group.gpus.first(where: { $0 < 0 }) { throw fail("\(field) gpus", "has \(negative); GPUs are numbered from 0") }
        if let repeated = group.gpus.first(where: { id in group.gpus.filter { $0 == id }.count > 1 }) {
            throw fail("\(field) gpus", "lists GPU \(repeated) twice; count sets the instances per GPU")
        }
        return InstanceGroup(name: group.name, kind: kind, count: Int(group.count), gpus: group.gpus.map { Int($0) })
    }

    static func accelerators(
        _ accelerators: ExecutionAcceleratorsMessage, _ fail: (String, String) -> FerryError
    ) throws(FerryError) -> [ExecutionAccelerator] {
        let field = "optimization.execution_accelerators"
        var names = Set<String>()
        return try accelerators.gpuExecutionAccelerator.map { accelerator throws(FerryError) -> ExecutionAccelerator in
            let known = acceleratorParameters.keys.sorted().map { "'\($0)'" }.joined(separator: ", ")
            guard let parameters = acceleratorParameters[accelerator.name] else {
                throw fail("\(field).gpu_execution_accelerator", "names '\(accelerator.name)'; Ferry knows \(known)")
            }
            guard names.insert(accelerator.name).inserted else {
                throw fail("\(field).gpu_execution_accelerator", "names '\(accelerator.name)' twice")
            }
            let entry = "\(field).gpu_execution_accelerator '\(accelerator.name)'"
            for key in accelerator.parameters.keys.sorted() where !parameters.contains(key) {
                throw fail(entry, "has parameter '\(key)', which it does not take (it takes \(parameters.sorted().joined(separator: ", ")))")
            }
            for (key, value) in accelerator.parameters.sorted(by: { $0.key < $1.key }) {
                if let problem = parameterProblem(key, value) { throw fail("\(entry) parameter '\(key)'", "is '\(value)'; \(problem)") }
            }
            return ExecutionAccelerator(name: accelerator.name, parameters: accelerator.parameters)
        }
    }

    /// Values checked here so that a CPU machine reports a bad config as one
    /// (ONNX Runtime checks the rest when the provider loads).
    private static func parameterProblem(_ key: String, _ value: String) -> String? {
        switch key {
        case "precision_mode":
            return ["FP32", "FP16"].contains(value) ? nil : "it must be FP32 or FP16 (INT8 needs a calibration table Ferry does not take)"
        case "max_workspace_size_bytes", "trt_max_workspace_size", "gpu_mem_limit":
            return UInt64(value).map { $0 > 0 } == true ? nil : "it must be a positive number of bytes"
        case "minimum_segment_size", "max_partition_iterations", "trt_min_subgraph_size", "trt_max_partition_iterations",
            "trt_builder_optimization_level", "trt_auxiliary_streams":
            return Int(value) == nil ? "it must be a whole number" : nil
        case "arena_extend_strategy":
            return ["kNextPowerOfTwo", "kSameAsRequested"].contains(value) ? nil : "it must be kNextPowerOfTwo or kSameAsRequested"
        case "cudnn_conv_algo_search":
            return ["EXHAUSTIVE", "HEURISTIC", "DEFAULT"].contains(value) ? nil : "it must be EXHAUSTIVE, HEURISTIC or DEFAULT"
        case "trt_engine_cache_path", "trt_timing_cache_path":
            return value.isEmpty ? "it must name a directory" : nil
        default:
            return ["0", "1", "true", "false", "True", "False"].contains(value) ? nil : "it must be true or false (1 or 0)"
        }
    }
}

typealias InstanceGroupMessage = Inference_ModelInstanceGroup
typealias ExecutionAcceleratorsMessage = Inference_ModelOptimizationPolicy.ExecutionAccelerators
