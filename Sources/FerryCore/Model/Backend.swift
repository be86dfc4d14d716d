/// A loaded model that can run inference. Implementations must allow `run`
/// from several threads at once.
public protocol ModelSession: Sendable {
    var signature: ModelSignature { get }
    var metadata: ModelMetadata { get }

    /// Runs the model on inputs that already passed `ModelSignature.validate`,
    /// returning the named outputs in the order asked. This call blocks: callers
    /// run it on threads they own, never on the Swift cooperative pool.
    func run(_ inputs: [Tensor], outputs: [String]) throws(FerryError) -> [Tensor]

    /// The same, stoppable through `cancellation` while it runs (a cancelled
    /// run throws `FerryError` with code `.cancelled`).
    func run(_ inputs: [Tensor], outputs: [String], cancellation: Cancellation) throws(FerryError) -> [Tensor]
}

extension ModelSession {
    /// Backends that cannot stop a run check only before starting it.
    public func run(_ inputs: [Tensor], outputs: [String], cancellation: Cancellation) throws(FerryError) -> [Tensor] {
        if cancellation.isCancelled { throw FerryError(.cancelled, "the run was cancelled") }
        return try run(inputs, outputs: outputs)
    }
}

/// A kind of model file the server can load (ONNX through ONNX Runtime today).
public protocol Backend: Sendable {
    /// The platform name reported in model metadata, Triton-style (`onnxruntime_onnx`).
    var platform: String { get }

    func loadModel(atPath path: String, name: String) throws(FerryError) -> any ModelSession

    /// Loads a model for one of several instances, suggesting how many threads
    /// the instance should use inside one operator (the server divides the
    /// cores among instances). A backend with explicitly set threads ignores it.
    func loadModel(atPath path: String, name: String, suggestedThreads: Int) throws(FerryError) -> any ModelSession

    /// The threads of the pool every instance shares, when the backend runs
    /// them on one (nil: each instance has threads of its own).
    var sharedThreads: Int? { get }

    /// Why instances with these accelerators cannot run on a GPU here (the
    /// provider library is missing), or nil when they can. Asked after the
    /// driver and the device were found.
    func gpuUnavailableReason(accelerators: [ExecutionAccelerator]) -> String?

    /// Loads a model for one instance placed on `placement.device`.
    func loadModel(atPath path: String, name: String, suggestedThreads: Int, placement: InstancePlacement) throws(FerryError)
        -> any ModelSession
}

extension Backend {
    public var sharedThreads: Int? { nil }

    public func gpuUnavailableReason(accelerators: [ExecutionAccelerator]) -> String? {
        "the \(platform) backend runs on the CPU only"
    }

    public func loadModel(atPath path: String, name: String, suggestedThreads: Int, placement: InstancePlacement) throws(FerryError)
        -> any ModelSession
    {
        if let reason = placement.device.isGPU ? gpuUnavailableReason(accelerators: placement.accelerators) : nil {
            throw FerryError(.failedPrecondition, reason)
        }
        return try loadModel(atPath: path, name: name, suggestedThreads: suggestedThreads)
    }

    public func loadModel(atPath path: String, name: String, suggestedThreads: Int) throws(FerryError) -> any ModelSession {
        try loadModel(atPath: path, name: name)
    }
}
