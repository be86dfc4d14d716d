import Synchronization

/// Cancels one request from outside its task: an HTTP client that closes its
/// connection has no task to cancel, only a request to withdraw. Cheaper than
/// running each request in a task of its own just to be able to cancel it.
public final class RequestCancellation: Sendable {
    private struct State {
        var cancelled = false
        var handler: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    public init() {}

    public var isCancelled: Bool { state.withLock { $0.cancelled } }

    public func cancel() {
        let handler = state.withLock { state -> (@Sendable () -> Void)? in
            state.cancelled = true
            defer { state.handler = nil }
            return state.handler
        }
        handler?()
    }

    /// Makes `cancel()` run `handler` until `remove()`; a request cancelled
    /// before this is caught by checking `isCancelled` after it.
    func install(_ handler: @escaping @Sendable () -> Void) {
        state.withLock { $0.handler = handler }
    }

    func remove() {
        state.withLock { $0.handler = nil }
    }
}
