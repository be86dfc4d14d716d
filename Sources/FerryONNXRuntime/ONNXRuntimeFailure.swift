import FerryCore

/// An error status returned by ONNX Runtime, before it is given the context
/// (model, input) that makes it a useful `FerryError`.
struct ONNXRuntimeFailure: Error {
    var operation: String
    var code: Int
    var message: String

    /// `OrtErrorCode` names, for messages.
    static let codeNames = [
        "OK", "FAIL", "INVALID_ARGUMENT", "NO_SUCHFILE", "NO_MODEL", "ENGINE_ERROR",
        "RUNTIME_EXCEPTION", "INVALID_PROTOBUF", "MODEL_LOADED", "NOT_IMPLEMENTED", "INVALID_GRAPH", "EP_FAIL",
    ]

    var codeName: String { Self.codeNames.indices.contains(code) ? Self.codeNames[code] : "code \(code)" }

    /// The error for a failure while loading a model: the model is unusable.
    func loadError(model: String, path: String) -> FerryError {
        FerryError(
            .failedPrecondition,
            "model '\(model)' failed to load from \(path): ONNX Runtime \(codeName): \(message)",
            backendCode: code
        )
    }

    /// The error for a failure while running: a bad argument is the client's
    /// fault, anything else the server's.
    func runError(model: String, input: String?) -> FerryError {
        let subject = input.map { "input '\($0)' of model '\(model)'" } ?? "model '\(model)'"
        if code == 2 {
            return FerryError(.invalidArgument, "ONNX Runtime rejected \(subject) (\(codeName)): \(message)", backendCode: code)
        }
        return FerryError(.internal, "ONNX Runtime failed running \(subject) (\(codeName)): \(message)", backendCode: code)
    }
}
