import ArgumentParser
import FerryCore
import FerryONNXRuntime

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a model's inputs, outputs and metadata."
    )

    @Argument(help: ArgumentHelp("The .onnx model file or model directory.", valueName: "model"))
    var modelPath: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        try reportingFailures {
            let backend = try runtime.backend()
            let model = try ModelLocation(path: modelPath)
            let session = try backend.loadModel(atPath: model.file, name: model.name)
            let description = ModelDescription(
                name: model.name,
                platform: backend.platform,
                signature: session.signature,
                metadata: session.metadata
            )
            writeStandardOutput(json ? description.json : Data(description.text.utf8))
        }
    }
}
