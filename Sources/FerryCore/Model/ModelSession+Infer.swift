extension ModelSession {
    /// Validates a request against the signature, runs it, and wraps the
    /// outputs in a response: the whole path for one request, unscheduled.
    public func infer(_ request: InferenceRequest, modelName: String, modelVersion: String? = nil) throws(FerryError) -> InferenceResponse {
        let outputNames = try signature.validate(request, modelName: modelName)
        let outputs = try run(request.inputs, outputs: outputNames)
        return InferenceResponse(modelName: modelName, modelVersion: modelVersion, id: request.id, outputs: outputs)
    }
}
