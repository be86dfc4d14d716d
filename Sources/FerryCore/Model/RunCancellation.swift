import Synchronization

/// Lets a caller stop a backend run that is under way. The backend installs
/// how to stop it (ONNX Runtime: set the run's terminate flag) for the length
/// of the run; `cancel()` before or during the run stops it.
public final class RunCancellation: Sendable {
    private struct State {
        var cancelled = false
        var stop: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    public init() {}

    public var isCancelled: Bool { state.withLock { $0.cancelled } }

    public func cancel() {
        let stop = state.withLock { state -> (@Sendable () -> Void)? in
            state.cancelled = true
            return state.stop
        }
        stop?()
    }

    /// Installs `stop` for the length of `body`; runs it at once if already cancelled.
    public func whileRunning<Result>(stop: @escaping @Sendable () -> Void, _ body: () throws(FerryError) -> Result) throws(FerryError)
        -> Result
    {
        let alreadyCancelled = state.withLock { state -> Bool in
            state.stop = stop
            return state.cancelled
        }
        if alreadyCancelled { stop() }
        defer { state.withLock { $0.stop = nil } }
        return try body()
    }
}
