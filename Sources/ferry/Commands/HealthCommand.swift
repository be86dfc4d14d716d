import ArgumentParser
import FerryClient
import FerryCore

/// A health check the image can run on itself: it has no shell, curl or
/// wget, so a Docker/Compose `HEALTHCHECK` or a Kubernetes exec probe calls
/// `ferry health`.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Exit 0 when a v2 server is ready (or live), 1 otherwise: a health check for images without a shell.",
        discussion: "Asks GET /v2/health/ready (or /v2/health/live with --live) over HTTP, or ServerReady/ServerLive over gRPC."
    )

    @Argument(help: ArgumentHelp("The server: http(s)://HOST:PORT or grpc(s)://HOST:PORT.", valueName: "url"))
    var url = "http://127.0.0.1:8000"

    @OptionGroup(title: "Server access") var clientOptions: ClientOptions

    @Flag(help: "Check liveness (the process answers) instead of readiness (every model ready).")
    var live = false

    @Option(help: "Seconds to wait for an answer.")
    var timeout: Double = 5

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() async throws {
        try await reportingFailures {
            let client = try FerryClient.connect(to: url, maxConnections: 1, security: clientOptions.security)
            let answer = await withTaskGroup(of: Result<Bool, FerryError>?.self) { group in
                group.addTask {
                    do throws(FerryError) {
                        return .success(try await live ? client.isServerLive() : client.isServerReady())
                    } catch {
                        return .failure(error)
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(Int(timeout * 1000)))
                    return nil
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first
            }
            await client.close()
            switch answer {
            case .success(true)?:
                return
            case .success(false)?:
                throw FerryError(.unavailable, "\(url) is \(live ? "not live" : "not ready")")
            case .failure(let error)?:
                throw error
            case nil:
                throw FerryError(.unavailable, "\(url) did not answer within \(timeout.fixed(1)) s")
            }
        }
    }
}
