import ArgumentParser

@main
struct Ferry: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry",
        abstract: "Serve, package and deploy ONNX models.",
        version: "0.1.0",
        subcommands: [InspectCommand.self, InferCommand.self]
    )
}
