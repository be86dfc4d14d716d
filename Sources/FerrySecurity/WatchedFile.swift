import FerryCore
import Logging
import Synchronization

/// A value read from files that change while the server runs (a keys file,
/// a certificate cert-manager rotates in place): read at start, where a bad
/// file is an error, and again when a file's fingerprint changes, looked at
/// no more than once per `interval`. A change that does not read (a file
/// caught half-written) is logged and the previous value kept.
public final class WatchedFile<Value: Sendable>: Sendable {
    private struct State {
        var value: Value
        var fingerprints: [FileSystem.Fingerprint?]
        var checked: UInt64
        var reloading = false
    }

    public let paths: [String]
    private let what: String
    private let interval: UInt64
    private let read: @Sendable () throws(FerryError) -> Value
    private let logger: Logger
    private let state: Mutex<State>

    public init(
        _ what: String, paths: [String], interval: Duration = .seconds(1), logger: Logger,
        read: @escaping @Sendable () throws(FerryError) -> Value
    ) throws(FerryError) {
        self.what = what
        self.paths = paths
        self.interval = UInt64(interval.components.seconds) * 1_000_000_000 + UInt64(interval.components.attoseconds / 1_000_000_000)
        self.read = read
        self.logger = logger
        let fingerprints = paths.map(FileSystem.fingerprint(of:))
        state = Mutex(State(value: try read(), fingerprints: fingerprints, checked: SystemClock.monotonicNanoseconds()))
    }

    /// The value as of the files' last readable change.
    public var current: Value {
        let now = SystemClock.monotonicNanoseconds()
        let due = state.withLock { state -> [FileSystem.Fingerprint?]? in
            guard !state.reloading, now &- state.checked >= interval else { return nil }
            state.checked = now
            let fingerprints = paths.map(FileSystem.fingerprint(of:))
            guard fingerprints != state.fingerprints else { return nil }
            state.reloading = true
            return fingerprints
        }
        guard let fingerprints = due else { return state.withLock { $0.value } }
        // Read outside the lock: other requests go on with the previous value meanwhile.
        let result = Result { () throws(FerryError) in try read() }
        return state.withLock { state in
            state.reloading = false
            state.fingerprints = fingerprints
            switch result {
            case .success(let value):
                state.value = value
                logger.info("reloaded \(what)", metadata: ["files": "\(paths.joined(separator: ", "))"])
            case .failure(let error):
                logger.warning("kept the previous \(what): the changed files do not read", metadata: ["error": "\(error.message)"])
            }
            return state.value
        }
    }
}
