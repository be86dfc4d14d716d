import ArgumentParser
import FerryClient
import FerryCore
import FerryProtocol
import FerryONNXRuntime

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct InferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Run one inference request, in this process or on a server.",
        discussion: """
            TARGET is an .onnx file or a model directory (NAME/VERSION/model.onnx), run in \
            this process, or a server URL (http(s)://HOST:PORT or grpc(s)://HOST:PORT) with --model. \
            The request is a KServe v2 inference request body; the v2 response body is printed on stdout.
            """
    )

    @Argument(help: ArgumentHelp("The .onnx file, model directory, or server URL.", valueName: "target"))
    var target: String

    @Option(help: ArgumentHelp("The v2 inference request body (JSON file, or - for stdin).", valueName: "request.json"))
    var data: String

    @Option(help: "The model to ask, when TARGET is a server URL.")
    var model: String?

    @Option(help: "The model version to ask (default: the server's choice).")
    var modelVersion: String?

    @Flag(help: "Over HTTP, send and receive tensors with the binary tensor extension.")
    var binary = false

    @OptionGroup(title: "Server access") var clientOptions: ClientOptions

    @OptionGroup var runtime: RuntimeOptions

    var isServerURL: Bool { target.contains("://") }

    func validate() throws {
        if isServerURL && model == nil { throw ValidationError("--model is required when TARGET is a server URL") }
        if !isServerURL && (model != nil || binary) { throw ValidationError("--model and --binary apply only to a server URL") }
    }

    func run() async throws {
        try await reportingFailures {
            let request = try InferenceRequest(v2JSON: try readRequest())
            let response: InferenceResponse
            if isServerURL {
                let client = try FerryClient.connect(to: target, binary: binary, security: clientOptions.security)
                do {
                    response = try await client.infer(request, model: model!, version: modelVersion)
                    await client.close()
                } catch {
                    await client.close()
                    throw error
                }
            } else {
                let location = try ModelLocation(path: target)
                let session = try runtime.backend().loadModel(atPath: location.file, name: location.name)
                response = try session.infer(request, modelName: location.name, modelVersion: location.version)
            }
            writeStandardOutput(try response.v2JSON())
        }
    }

    private func readRequest() throws(FerryError) -> Data {
        if data == "-" { return StandardStreams.readInput() }
        guard let contents = FileManager.default.contents(atPath: data) else {
            throw FerryError(.notFound, "cannot read the request file \(data)")
        }
        return contents
    }
}
