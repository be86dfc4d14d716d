import FerryCore

/// A line of the repository index: a model, or one version of it, with its state.
public struct ModelIndexEntry: Sendable, Hashable {
    public var name: String
    public var version: String?
    /// `nil` for a model in the repository that was never loaded.
    public var state: ModelState?
    public var reason: String

    public init(name: String, version: String?, state: ModelState?, reason: String = "") {
        self.name = name
        self.version = version
        self.state = state
        self.reason = reason
    }
}
