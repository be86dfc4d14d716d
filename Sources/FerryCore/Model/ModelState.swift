/// The life of a model (or model version) in the server, as Triton reports it.
public enum ModelState: String, Sendable, Hashable {
    case ready = "READY"
    case unavailable = "UNAVAILABLE"
    case loading = "LOADING"
    case unloading = "UNLOADING"
}

/// One version of a model and its state, as TensorFlow Serving's model status
/// reports it.
public struct ModelVersionState: Sendable, Hashable {
    public var version: Int64
    public var state: ModelState
    /// Why the version failed (to load, or later), if it did; a version that
    /// was simply never loaded or was unloaded has none.
    public var error: String?

    public init(version: Int64, state: ModelState, error: String? = nil) {
        self.version = version
        self.state = state
        self.error = error
    }
}
