import Logging
import ServiceLifecycle

/// The models' part of a running server, as a swift-service-lifecycle
/// service: loads the initial models, follows the repository in poll mode,
/// and on graceful shutdown refuses new requests and waits for running ones.
///
/// Start it first in the `ServiceGroup`: services stop in reverse order, so
/// the network endpoints finish their in-flight requests before models unload.
public struct ModelService: Service {
    let server: InferenceServer
    let initialModels: [String]
    let pollInterval: Duration

    public init(server: InferenceServer, initialModels: [String] = [], pollInterval: Duration = .seconds(15)) {
        self.server = server
        self.initialModels = initialModels
        self.pollInterval = pollInterval
    }

    public func run() async throws {
        let manager = server.manager
        await manager.loadInitialModels(explicitlyNamed: initialModels)
        if manager.controlMode == .poll {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                // Woken by a graceful shutdown, not only by the timer.
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pollInterval) }
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
                await manager.poll()
            }
        } else {
            try? await gracefulShutdown()
        }
        server.beginShutdown()
        await manager.unloadAll()
    }
}
