import FerryCore
import Hummingbird
import Synchronization

/// A Hummingbird application on 127.0.0.1, on a port the system picks: the
/// peer a test needs (a webhook receiver, a registry's token service).
final class LocalHTTPServer: Sendable {
    /// A class, so the server's start callback can capture it (a `Mutex` cannot be).
    private final class Port: Sendable {
        let value = Mutex<Int?>(nil)
    }

    private let boundPort = Port()
    private let task = Mutex<Task<Void, any Error>?>(nil)

    /// Starts `router` and returns once it listens; `name` says what failed to start.
    init(_ router: Router<BasicRequestContext>, name: String) async throws {
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { [boundPort] channel in boundPort.value.withLock { $0 = channel.localAddress?.port } })
        task.withLock { $0 = Task { try await app.run() } }
        // Other tests may load both cores: give it time to start, and fail clearly if it does not.
        let deadline = ContinuousClock.now + .seconds(60)
        while boundPort.value.withLock({ $0 }) == nil && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        guard boundPort.value.withLock({ $0 }) != nil else { throw FerryError(.unavailable, "\(name) did not start") }
    }

    var port: Int { boundPort.value.withLock { $0 } ?? 0 }
    var url: String { "http://127.0.0.1:\(port)" }

    func stop() { task.withLock { $0?.cancel() } }
}
