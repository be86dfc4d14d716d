/// Who sent a request, once a key or token proved it: the name logs and job
/// ownership use, what it may do, and its own rate limit if it has one.
public struct Credential: Sendable, Equatable {
    public enum Source: String, Sendable {
        case apiKey = "api-key"
        case jwt
    }

    public var name: String
    public var scopes: Set<Scope>
    /// Overrides the server's `--rate-limit` for this credential (`.unlimited` lifts it).
    public var rateLimit: RateLimit?
    public var source: Source

    public init(name: String, scopes: Set<Scope>, rateLimit: RateLimit? = nil, source: Source) {
        self.name = name
        self.scopes = scopes
        self.rateLimit = rateLimit
        self.source = source
    }

    /// The job owner: key names and token subjects cannot collide.
    public var owner: String { "\(source.rawValue):\(name)" }
}
