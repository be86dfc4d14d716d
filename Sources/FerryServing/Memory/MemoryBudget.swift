/// The rule that keeps loaded models within `--model-memory-budget`: which
/// loaded models to unload, least recently used first, so that another fits.
/// Models with requests queued or running, pinned ones, and ones with a load
/// or unload under way are never chosen.
package struct MemoryBudget: Sendable {
    package struct Resident: Sendable, Hashable {
        package var name: String
        package var bytes: Int
        /// A use counter's value at the model's last request (higher is newer).
        package var lastUse: UInt64
        /// Requests queued or running, or an operation under way.
        package var busy: Bool
        package var pinned: Bool

        package init(name: String, bytes: Int, lastUse: UInt64, busy: Bool = false, pinned: Bool = false) {
            self.name = name
            self.bytes = bytes
            self.lastUse = lastUse
            self.busy = busy
            self.pinned = pinned
        }
    }

    package enum Decision: Sendable, Hashable {
        /// Unload these, in this order (possibly none), then load.
        case evict([String])
        /// Not now: models in use hold the memory; wait for one to go idle.
        case wait(busy: [String])
        /// Never: even with every other model unloaded it would not fit.
        case impossible(fixed: Int)
    }

    package let bytes: Int

    package init(bytes: Int) { self.bytes = bytes }

    package func decide(needed: Int, residents: [Resident]) -> Decision {
        let used = residents.reduce(0) { $0 + $1.bytes }
        guard used + needed > bytes else { return .evict([]) }
        let fixed = residents.filter(\.pinned).reduce(0) { $0 + $1.bytes }
        guard fixed + needed <= bytes else { return .impossible(fixed: fixed) }
        var freed = 0
        var chosen: [String] = []
        for resident in residents.filter({ !$0.busy && !$0.pinned }).sorted(by: { $0.lastUse < $1.lastUse }) {
            guard used - freed + needed > bytes else { break }
            chosen.append(resident.name)
            freed += resident.bytes
        }
        guard used - freed + needed > bytes else { return .evict(chosen) }
        return .wait(busy: residents.filter { $0.busy && !$0.pinned }.map(\.name).sorted())
    }
}
