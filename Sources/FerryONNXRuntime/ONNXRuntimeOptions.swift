import CONNXRuntime
import FerryCore

/// Session settings. Zero thread counts leave the choice to ONNX Runtime.
public struct ONNXRuntimeOptions: Sendable, Hashable {
    public enum GraphOptimization: String, Sendable, CaseIterable {
        case disabled, basic, extended, layout, all

        var level: GraphOptimizationLevel {
            switch self {
            case .disabled: ORT_DISABLE_ALL
            case .basic: ORT_ENABLE_BASIC
            case .extended: ORT_ENABLE_EXTENDED
            case .layout: ORT_ENABLE_LAYOUT
            case .all: ORT_ENABLE_ALL
            }
        }
    }

    public enum ExecutionMode: String, Sendable, CaseIterable {
        case sequential, parallel

        var mode: CONNXRuntime.ExecutionMode { self == .sequential ? ORT_SEQUENTIAL : ORT_PARALLEL }
    }

    /// Where a session's operators find their threads.
    public enum ThreadPool: String, Sendable, CaseIterable {
        /// A pool of the session's own (`intraOpThreads`, `interOpThreads`).
        case session
        /// The runtime's pool, shared by every session that uses it: a lone
        /// request spreads over all of its threads, concurrent ones share them.
        case shared
    }

    public var threadPool: ThreadPool
    public var intraOpThreads: Int
    public var interOpThreads: Int
    public var graphOptimization: GraphOptimization
    public var executionMode: ExecutionMode
    /// The device, and on a GPU the providers appended before the CPU's.
    public var placement: InstancePlacement = .cpu

    public init(
        threadPool: ThreadPool = .session,
        intraOpThreads: Int = 0,
        interOpThreads: Int = 0,
        graphOptimization: GraphOptimization = .all,
        executionMode: ExecutionMode = .sequential
    ) {
        self.threadPool = threadPool
        self.intraOpThreads = intraOpThreads
        self.interOpThreads = interOpThreads
        self.graphOptimization = graphOptimization
        self.executionMode = executionMode
    }
}

extension ONNXRuntime {
    /// Creates `OrtSessionOptions` for `options`; the caller releases them.
    func makeSessionOptions(_ options: ONNXRuntimeOptions) throws(ONNXRuntimeFailure) -> OpaquePointer {
        var handle: OpaquePointer?
        try check(api.pointee.CreateSessionOptions!(&handle), "CreateSessionOptions")
        do throws(ONNXRuntimeFailure) {
            switch options.threadPool {
            case .session:
                try check(api.pointee.SetIntraOpNumThreads!(handle, Int32(clamping: options.intraOpThreads)), "SetIntraOpNumThreads")
                try check(api.pointee.SetInterOpNumThreads!(handle, Int32(clamping: options.interOpThreads)), "SetInterOpNumThreads")
            case .shared:
                try check(api.pointee.DisablePerSessionThreads!(handle), "DisablePerSessionThreads")
            }
            try check(
                api.pointee.SetSessionGraphOptimizationLevel!(handle, options.graphOptimization.level),
                "SetSessionGraphOptimizationLevel"
            )
            try check(api.pointee.SetSessionExecutionMode!(handle, options.executionMode.mode), "SetSessionExecutionMode")
            try appendProviders(options.placement, to: handle!)
        } catch {
            api.pointee.ReleaseSessionOptions!(handle)
            throw error
        }
        return handle!
    }
}
