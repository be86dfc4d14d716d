import FerryCore
import Synchronization

/// What is being served right now, read on every request without waiting for
/// model control: load and unload publish a new entry atomically, so a
/// request sees either the old versions or the new ones, never a mix.
final class ServingTable: Sendable {
    struct Entry: Sendable {
        var state: ModelState
        var reason: String
        /// The versions taking requests, by number.
        var versions: [Int64: LoadedModelVersion]
    }

    private let entries = Mutex<[String: Entry]>([:])

    func entry(_ name: String) -> Entry? { entries.withLock { $0[name] } }

    var all: [String: Entry] { entries.withLock { $0 } }

    /// Sets a model's state and serving versions, returning the previous entry.
    @discardableResult
    func publish(_ name: String, _ entry: Entry) -> Entry? {
        entries.withLock { table in
            let previous = table[name]
            table[name] = entry
            return previous
        }
    }

    /// Changes only the state and reason, keeping the serving versions.
    func setState(_ name: String, _ state: ModelState, reason: String = "") {
        entries.withLock { table in
            var entry = table[name] ?? Entry(state: state, reason: reason, versions: [:])
            entry.state = state
            entry.reason = reason
            table[name] = entry
        }
    }
}
