import Synchronization

/// How long the server waits on a client and how many connections it keeps,
/// for every endpoint: a client that opens connections and sends nothing, or
/// half a request, must not hold the server's file descriptors forever.
public struct ConnectionPolicy: Sendable {
    /// Open connections across the HTTP, gRPC and metrics endpoints; one more
    /// is answered with a refusal (HTTP 503, gRPC GOAWAY) and closed.
    public var maximumConnections: Int
    /// An open connection with no request in progress is closed after this.
    public var idleTimeout: Duration
    /// From the first byte of an HTTP request to the end of its headers (and
    /// for an HTTP/2 client, from connecting to its preface and settings).
    public var headerTimeout: Duration
    /// The longest pause between two reads of a request body.
    public var bodyTimeout: Duration

    public init(
        maximumConnections: Int = 4096,
        idleTimeout: Duration = .seconds(75),
        headerTimeout: Duration = .seconds(30),
        bodyTimeout: Duration = .seconds(30)
    ) {
        self.maximumConnections = maximumConnections
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
    }
}

/// The count of open connections shared by every endpoint of one server.
public final class ConnectionCount: Sendable {
    public let maximum: Int
    private let open = Atomic<Int>(0)

    public init(maximum: Int) { self.maximum = maximum }

    /// Takes a place for a new connection; false (and nothing taken) when
    /// every place is taken.
    public func admit() -> Bool {
        var current = open.load(ordering: .relaxed)
        while current < maximum {
            let (exchanged, original) = open.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives back the place of a connection that `admit` let in.
    public func release() { open.wrappingSubtract(1, ordering: .relaxed) }

    public var current: Int { open.load(ordering: .relaxed) }
}
