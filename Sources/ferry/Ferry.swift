import ArgumentParser
import Dispatch

struct Ferry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry",
        abstract: "Convert, serve, package and deploy models.",
        version: "0.1.0",
        subcommands: [
            ServeCommand.self, ConvertCommand.self, InferCommand.self, BenchCommand.self, InspectCommand.self, BuildCommand.self, PushCommand.self, PushModelCommand.self,
            DeployCommand.self, HealthCommand.self, APIKeyCommand.self,
        ]
    )
}

/// The process entry. Swift's async `main` parks the main thread in
/// libdispatch's signal thread (`sigsuspend`), which valgrind (3.19, Debian 12)
/// cannot run: it crashes before the first instruction of `ferry`, and the
/// instruction counts `ferry serve` is profiled by (callgrind) need it. So the
/// main thread starts the command on the concurrency pool and waits. Nothing in
/// Ferry runs on the main actor.
@main
enum Entry {
    static func main() {
        let finished = DispatchSemaphore(value: 0)
        Task.detached {
            await Ferry.main()
            finished.signal()
        }
        finished.wait()
    }
}
