import ArgumentParser
import FerryConvert
import FerryCore
import FerryONNXRuntime

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a PyTorch, TensorFlow, scikit-learn, XGBoost or LightGBM model to ONNX, verify it, and add it to a model repository.",
        discussion: """
            Writes REPO/NAME/VERSION/model.onnx, REPO/NAME/VERSION/conversion.json and REPO/NAME/config.pbtxt, \
            only when every check passed (or --allow-mismatch): ONNX's checker and strict shape inference, the \
            source framework against ONNX Runtime on seeded random inputs at batch 1 and 3 (and --sample files), \
            and Ferry's own ONNX Runtime against Python's. Default tolerances: FP32 atol 1e-4 rtol 1e-3, \
            FP16/BF16 1e-2, FP64 atol 1e-7 rtol 1e-6, integers and booleans exact. The converters run in a \
            pinned Python environment per framework that ferry creates on first use (--cache-dir) and reuses.
            """
    )

    @Argument(help: ArgumentHelp("The model: .pt/.pth/.pt2/.safetensors, a SavedModel directory, .pb, .keras/.h5, .pkl/.joblib, .onnx.", valueName: "source"))
    var source: String?

    @Option(help: ArgumentHelp("The model repository to add the model to.", valueName: "dir"))
    var repository = "models"

    @Option(help: "The model's name in the repository (default: the source's file name).")
    var name: String?

    @Option(help: "The version directory to write.")
    var version = 1

    @Option(
        name: .customLong("from"),
        help: ArgumentHelp("What the source is, when its name does not say: pytorch, tensorflow, sklearn, onnx, or a format.", valueName: "type"))
    var from: String?

    @Option(help: ArgumentHelp("PyTorch: the function that builds the nn.Module whose weights the source holds.", valueName: "package.module:factory"))
    var module: String?

    @Option(
        name: .customLong("input"),
        help: ArgumentHelp("An input's example shape, the batch first: image:1,3,224,224[:FP32] (repeatable).", valueName: "name:dims[:type]"))
    var inputs: [String] = []

    @Option(help: ArgumentHelp("Names for the outputs, in order (default: the framework's, else output_0, output_1…).", valueName: "a,b"))
    var outputNames: String?

    @Flag(help: "Keep the batch dimension fixed at the example's size instead of dynamic.")
    var staticBatch = false

    @Option(help: ArgumentHelp("PyTorch exporter: dynamo (torch.export) or torchscript (the legacy exporter).", valueName: "exporter"))
    var exporter: TorchExporter = .dynamo

    @Option(name: .customLong("inputs"), help: ArgumentHelp("Frozen TensorFlow graph: its input tensor names.", valueName: "x:0,y:0"))
    var graphInputs: String?

    @Option(name: .customLong("outputs"), help: ArgumentHelp("Frozen TensorFlow graph: its output tensor names.", valueName: "z:0"))
    var graphOutputs: String?

    @Option(help: "Absolute tolerance for every floating-point output (default: per datatype).")
    var atol: Double?

    @Option(help: "Relative tolerance for every floating-point output (default: per datatype).")
    var rtol: Double?

    @Option(name: .customLong("sample"), help: ArgumentHelp("Inputs to verify on too: a .npz or a v2 JSON request (repeatable).", valueName: "file"))
    var samples: [String] = []

    @Option(help: "Seed of the random verification inputs.")
    var seed: UInt64 = 20_261_204

    @Flag(help: "Serve ONNX Runtime's offline-optimized graph (extended level), verified like the converted one.")
    var optimize = false

    @Option(help: ArgumentHelp("Quantize the served model: int8 (dynamic; static with --calibration).", valueName: "type"))
    var quantize: Quantization?

    @Option(help: ArgumentHelp("Inputs (.npz) that calibrate static int8 quantization.", valueName: "file"))
    var calibration: String?

    @Option(help: "max_batch_size in config.pbtxt when the batch is dynamic.")
    var maxBatchSize = 8

    @Flag(help: "Add the model even when a check failed (its report says fail).")
    var allowMismatch = false

    @Flag(help: "Replace an existing version directory (and a config.pbtxt that differs).")
    var force = false

    @Option(help: ArgumentHelp("Run the converter with this Python interpreter and its packages instead of a pinned environment.", valueName: "path"))
    var python: String?

    @Option(help: ArgumentHelp("Where converter environments live (else FERRY_CONVERT_CACHE, else ~/.cache/ferry/convert).", valueName: "dir"))
    var cacheDir: String?

    @Option(help: ArgumentHelp("Only create (or find) a framework's environment and print its interpreter's path.", valueName: "framework"))
    var prepare: SourceFramework?

    @Flag(help: "Print conversion.json instead of the table.")
    var json = false

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if source == nil && prepare == nil { throw ValidationError("give the source model to convert (or --prepare FRAMEWORK)") }
    }

    func run() throws {
        try reportingFailures {
            let cache = cacheDir ?? ConverterEnvironment.defaultCache()
            let progress: (String) -> Void = { line in StandardStreams.writeError("ferry convert: \(line)\n") }
            if let prepare {
                let environment = try ConverterEnvironment.prepare(prepare, cache: cache, progress: progress)
                writeStandardOutput(Data(environment.python.utf8))
                return
            }
            let (framework, format) = try from.map { text throws(FerryError) in try SourceFormat.parseFrom(text) } ?? (nil, nil)
            let options = ConversionOptions(
                source: source!, repository: repository, name: name, version: version, framework: framework, format: format,
                module: module, inputs: try inputs.map { text throws(FerryError) in try InputExample(parsing: text) },
                outputNames: outputNames.map(Self.names), staticBatch: staticBatch, exporter: exporter,
                graphInputs: graphInputs.map(Self.names), graphOutputs: graphOutputs.map(Self.names), absoluteTolerance: atol,
                relativeTolerance: rtol, samples: samples, seed: seed, optimize: optimize, quantize: quantize, calibration: calibration,
                allowMismatch: allowMismatch, force: force, maxBatchSize: maxBatchSize)
            let backend = try runtime.backend()
            let converter = ModelConverter(
                options: options, cache: cache, python: python, backend: backend, runtimeLibrary: "onnxruntime \(backend.runtime.version) at \(backend.runtime.libraryPath)")
            let outcome = try converter.convert(progress: progress)
            let report = outcome.report
            if json {
                writeStandardOutput(report.json(options: options))
            } else {
                writeStandardOutput(Data((report.summary + report.table).utf8))
            }
            guard outcome.written.isEmpty == false else {
                throw FerryError(
                    .invalidArgument,
                    "verification failed, so nothing was written to \(repository) (--allow-mismatch adds it anyway); report and log: \(outcome.workDirectory ?? "")"
                )
            }
            var lines = ["verdict: \(report.passed ? "pass" : "FAIL (added with --allow-mismatch)") in \(report.seconds.fixed(1)) s"]
            lines += outcome.written.map { "wrote \($0)" }
            if outcome.config == .keptExisting {
                lines.append("kept the existing \(repository)/\(options.name)/config.pbtxt, which differs from the converted model's (--force replaces it)")
            }
            writeStandardOutput(Data(lines.joined(separator: "\n").utf8))
        }
    }

    private static func names(_ text: String) -> [String] {
        text.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingWhitespace }
    }
}

extension TorchExporter: ExpressibleByArgument {}
extension Quantization: ExpressibleByArgument {}
extension SourceFramework: ExpressibleByArgument {}
