import FerryCore
import Synchronization

/// What `ferry build` and `ferry push` show while they work, on standard
/// error. On a terminal, the transfer in progress (packing, compressing,
/// uploading or downloading a layer) is a bar with bytes and rate, redrawn in
/// place; elsewhere (CI logs, files), plain lines: one when a transfer makes
/// progress at most every few seconds, one when it ends.
public final class ProgressDisplay: Sendable {
    public static let silent = ProgressDisplay(prefix: "", terminal: false, output: nil)

    private let prefix: String
    private let terminal: Bool
    private let output: (@Sendable (String) -> Void)?
    private let state = Mutex(State())

    private struct State {
        var label = ""
        var done = 0
        var total = 0
        var started = ContinuousClock.now
        var lastDrawn: ContinuousClock.Instant?
        var active = false
    }

    /// Lines start with `prefix` (`ferry push: `); `terminal` chooses bars.
    public convenience init(prefix: String, terminal: Bool = StandardStreams.errorIsTerminal) {
        self.init(prefix: prefix, terminal: terminal, output: { StandardStreams.writeError($0) })
    }

    init(prefix: String, terminal: Bool, output: (@Sendable (String) -> Void)?) {
        self.prefix = prefix
        self.terminal = terminal
        self.output = output
    }

    /// A line of its own (a step, a retry, a skipped blob).
    public func message(_ text: String) {
        guard let output else { return }
        state.withLock { state in
            if terminal && state.active {
                output("\r\u{1B}[K\(prefix)\(text)\n" + bar(state))
            } else {
                output("\(prefix)\(text)\n")
            }
        }
    }

    /// Starts showing a transfer of `total` bytes (0 when unknown).
    func begin(_ label: String, total: Int) {
        state.withLock { state in
            // Off a terminal the first line comes after a few seconds: short transfers get only their summary.
            state = State(label: label, done: 0, total: total, started: .now, lastDrawn: terminal ? nil : .now, active: true)
        }
    }

    func advance(by count: Int) {
        guard let output else { return }
        state.withLock { state in
            state.done += count
            let now = ContinuousClock.now
            let interval: Duration = terminal ? .milliseconds(100) : .seconds(5)
            if let last = state.lastDrawn, now - last < interval { return }
            state.lastDrawn = now
            if terminal {
                output("\r\u{1B}[K" + bar(state))
            } else {
                output("\(prefix)\(state.label): \(Self.megabytes(state.done)) of \(Self.megabytes(state.total))\n")
            }
        }
    }

    /// Ends the transfer with a line saying how much went how fast.
    func end() {
        guard let output else { return }
        state.withLock { state in
            guard state.active else { return }
            state.active = false
            let seconds = Self.seconds(ContinuousClock.now - state.started)
            let rate = seconds > 0.05 ? ", \(Self.megabytes(Int(Double(state.done) / seconds)))/s" : ""
            let line = "\(prefix)\(state.label): \(Self.megabytes(state.done)) in \(seconds.fixed(1)) s\(rate)\n"
            output(terminal ? "\r\u{1B}[K" + line : line)
        }
    }

    private func bar(_ state: State) -> String {
        let width = 24
        let fraction = state.total > 0 ? min(1, Double(state.done) / Double(state.total)) : 0
        let filled = Int(fraction * Double(width))
        let seconds = Self.seconds(ContinuousClock.now - state.started)
        let rate = seconds > 0.2 ? "  \(Self.megabytes(Int(Double(state.done) / seconds)))/s" : ""
        let amount = state.total > 0 ? "\(Self.megabytes(state.done)) / \(Self.megabytes(state.total))" : Self.megabytes(state.done)
        return
            "\(prefix)\(state.label) [\(String(repeating: "#", count: filled))\(String(repeating: "-", count: width - filled))] \(amount)\(rate)"
    }

    static func megabytes(_ bytes: Int) -> String { "\((Double(bytes) / 1e6).fixed(1)) MB" }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
