/// One inference request, independent of the wire format it arrived in.
public struct InferenceRequest: Sendable {
    /// An output the client asks for, with its per-output parameters
    /// (e.g. `binary_data`).
    public struct RequestedOutput: Sendable, Hashable {
        public var name: String
        public var parameters: InferenceParameters

        public init(name: String, parameters: InferenceParameters = [:]) {
            self.name = name
            self.parameters = parameters
        }
    }

    public var id: String?
    public var inputs: [Tensor]
    /// Empty means every output of the model, in the model's order.
    public var outputs: [RequestedOutput]
    public var parameters: InferenceParameters

    public init(
        id: String? = nil,
        inputs: [Tensor],
        outputs: [RequestedOutput] = [],
        parameters: InferenceParameters = [:]
    ) {
        self.id = id
        self.inputs = inputs
        self.outputs = outputs
        self.parameters = parameters
    }
}

/// The result of one inference request.
public struct InferenceResponse: Sendable {
    public var modelName: String
    public var modelVersion: String?
    public var id: String?
    public var outputs: [Tensor]
    public var parameters: InferenceParameters
    /// How long the request waited for an instance and ran on it (for traces).
    public var timing: InferenceTiming?

    public init(
        modelName: String,
        modelVersion: String? = nil,
        id: String? = nil,
        outputs: [Tensor],
        parameters: InferenceParameters = [:]
    ) {
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.id = id
        self.outputs = outputs
        self.parameters = parameters
    }
}

/// Where a request's time went inside the server, as traces show it.
public struct InferenceTiming: Sendable {
    public var queue: Duration
    public var compute: Duration

    public init(queue: Duration, compute: Duration) {
        self.queue = queue
        self.compute = compute
    }
}
