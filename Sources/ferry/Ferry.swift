import ArgumentParser

@main
struct Ferry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry",
        abstract: "Convert, serve, package and deploy models.",
        version: "0.1.0",
        subcommands: [
            ServeCommand.self, ConvertCommand.self, InferCommand.self, BenchCommand.self, InspectCommand.self, BuildCommand.self, PushCommand.self,
            DeployCommand.self, HealthCommand.self,
        ]
    )
}
