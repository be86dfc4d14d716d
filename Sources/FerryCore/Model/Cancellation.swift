import Synchronization

/// A request's or a run's cancellation: a flag, and what to do when it is
/// set. A frontend makes one per request and cancels it when the client goes
/// away; the scheduler installs how to withdraw the request from its queue,
/// and a backend how to stop a run under way (ONNX Runtime: the run's
/// terminate flag). Whoever installs a handler removes it when it no longer
/// applies; `cancel()` runs the handler installed then, once.
public final class Cancellation: Sendable {
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

    /// Makes `cancel()` run `handler` until `remove()`. A cancellation that
    /// came before is not replayed: check `isCancelled` after installing.
    public func install(_ handler: @escaping @Sendable () -> Void) {
        state.withLock { $0.handler = handler }
    }

    public func remove() {
        state.withLock { $0.handler = nil }
    }

    /// Installs `stop` for the length of `body`, and runs it at once if the
    /// cancellation came before: a backend's way to make a blocking run stoppable.
    public func whileRunning<Result>(stop: @escaping @Sendable () -> Void, _ body: () throws(FerryError) -> Result) throws(FerryError)
        -> Result
    {
        let alreadyCancelled = state.withLock { state -> Bool in
            state.handler = stop
            return state.cancelled
        }
        if alreadyCancelled { stop() }
        defer { remove() }
        return try body()
    }
}
