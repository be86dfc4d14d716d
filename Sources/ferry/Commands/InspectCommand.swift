import ArgumentParser
import FerryConvert
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
            // `ferry convert` leaves its report beside the model it wrote.
            let reportFile = URL(fileURLWithPath: model.file).deletingLastPathComponent().appendingPathComponent("conversion.json").path
            let conversion = FileManager.default.contents(atPath: reportFile)
            if json {
                var document = description.json
                if let conversion, document.last == UInt8(ascii: "}") {
                    document.removeLast()
                    document.append(contentsOf: Data(",\"conversion\":".utf8) + conversion + Data("}".utf8))
                }
                writeStandardOutput(document)
                return
            }
            var text = description.text
            if let conversion {
                let report = try ConversionReport(conversionJSON: conversion)
                text += "\nConversion (\(reportFile)): verdict \(report.passed ? "pass" : "fail")\n" + report.summary + report.table
            }
            writeStandardOutput(Data(text.utf8))
        }
    }
}
