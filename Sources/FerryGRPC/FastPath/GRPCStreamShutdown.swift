import Synchronization

/// The streaming RPCs the fast path serves, told when a graceful shutdown
/// begins: each stops running new requests, answers the ones it runs, and
/// ends UNAVAILABLE, so an idle stream does not hold the shutdown until the
/// drain timeout.
final class GRPCStreamShutdown: Sendable {
    private struct State {
        var begun = false
        var streams: [ObjectIdentifier: @Sendable () -> Void] = [:]
    }

    private let state = Mutex(State())

    /// Adds a stream; false (and `stop` is not kept) when the shutdown already began.
    func register(_ stream: ObjectIdentifier, stop: @escaping @Sendable () -> Void) -> Bool {
        state.withLock { state in
            guard !state.begun else { return false }
            state.streams[stream] = stop
            return true
        }
    }

    func deregister(_ stream: ObjectIdentifier) {
        _ = state.withLock { $0.streams.removeValue(forKey: stream) }
    }

    func begin() {
        let stops = state.withLock { state in
            state.begun = true
            defer { state.streams = [:] }
            return Array(state.streams.values)
        }
        for stop in stops { stop() }
    }
}
