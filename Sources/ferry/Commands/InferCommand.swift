import ArgumentParser
import FerryCore
import Foundation

struct InferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Run one inference request.",
        discussion: """
            MODEL is an .onnx file or a model directory (NAME/VERSION/model.onnx), run in this process. The request is a KServe v2 \
            inference request body; the v2 response body is printed on stdout.
            """
    )

    @Argument(help: ArgumentHelp("The .onnx model file or model directory.", valueName: "model"))
    var modelPath: String

    @Option(help: ArgumentHelp("The v2 inference request body (JSON file, or - for stdin).", valueName: "request.json"))
    var data: String

    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        try reportingFailures {
            let body = try readRequest()
            let request = try InferenceRequest(v2JSON: body)
            let model = try ModelLocation(path: modelPath)
            let session = try runtime.backend().loadModel(atPath: model.file, name: model.name)
            let response = try session.infer(request, modelName: model.name, modelVersion: model.version)
            writeStandardOutput(try response.v2JSON())
        }
    }

    private func readRequest() throws(FerryError) -> Data {
        if data == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
        guard let contents = FileManager.default.contents(atPath: data) else {
            throw FerryError(.notFound, "cannot read the request file \(data)")
        }
        return contents
    }
}
