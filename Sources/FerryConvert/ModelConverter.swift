import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// `ferry convert`: one source model in, one verified model in the repository out.
///
/// The steps: check the request and the target version; find or create the
/// framework's Python environment; run the embedded converter script there
/// (conversion, ONNX checks, source-vs-ONNX Runtime comparisons, optional
/// optimization and quantization); run the result through Ferry's own
/// backend; and only when every check passed (or `--allow-mismatch`), move
/// the model, its report and its config into the repository. A failure
/// leaves the repository as it was; the work directory with the full log is
/// kept and named in the error.
public struct ModelConverter: Sendable {
    public var options: ConversionOptions
    /// Where environments live (`ConverterEnvironment.defaultCache()`).
    public var cache: String
    /// `--python`: run in this interpreter instead of a pinned environment.
    public var python: String?
    /// The interpreter that creates environments.
    public var basePython: String
    public var backend: any Backend
    /// Where Ferry's runtime library was loaded from, for the report.
    public var runtimeLibrary: String

    public init(
        options: ConversionOptions, cache: String = ConverterEnvironment.defaultCache(), python: String? = nil,
        basePython: String = "python3", backend: any Backend, runtimeLibrary: String
    ) {
        self.options = options
        self.cache = cache
        self.python = python
        self.basePython = basePython
        self.backend = backend
        self.runtimeLibrary = runtimeLibrary
    }

    public struct Outcome: Sendable {
        public var report: ConversionReport
        /// The repository paths written; empty when the verdict kept the model out.
        public var written: [String]
        public var config: RepositoryPlacement.ConfigOutcome?
        /// The work directory, kept when the model was not placed (it holds the log and the report).
        public var workDirectory: String?
    }

    public func convert(progress: @escaping (String) -> Void) throws(FerryError) -> Outcome {
        let started = ContinuousClock.now
        try options.validate()
        let source = URL(fileURLWithPath: options.source).standardizedFileURL.path
        guard FileSystem.kind(of: source) != nil else { throw FerryError(.notFound, "no file or directory at \(options.source)") }
        guard access(source, R_OK) == 0 else { throw FerryError(.failedPrecondition, "\(options.source) is not readable") }
        let placement = RepositoryPlacement(repository: options.repository, name: options.name, version: options.version)
        try placement.checkFree(force: options.force)
        let (framework, format) = try resolveFormat(source)
        if format == .frozenGraph, (options.graphInputs ?? []).isEmpty || (options.graphOutputs ?? []).isEmpty {
            throw FerryError(.invalidArgument, "a frozen graph names no inputs or outputs itself: give --inputs and --outputs (tensor names such as x:0)")
        }

        let environment: ConverterEnvironment
        if let python {
            environment = try ConverterEnvironment.existing(python: python)
        } else {
            environment = try ConverterEnvironment.prepare(framework, cache: cache, basePython: basePython, progress: progress)
        }

        let work = FileManager.default.temporaryDirectory.path + "/ferry-convert-" + RandomIdentifier.uuid().prefix(8)
        try createDirectory(work)
        var keepWork = true
        defer { if !keepWork { try? FileManager.default.removeItem(atPath: work) } }

        try write(Data(EmbeddedConverter.script.utf8), to: work + "/ferry_convert.py")
        try write(requestJSON(source: source, framework: framework, format: format, work: work), to: work + "/request.json")
        let log = work + "/convert.log"
        let status = try ChildProcess.streaming(
            [environment.python, work + "/ferry_convert.py", work + "/request.json"],
            environment: ["PYTHONUNBUFFERED": "1", "PYTHONNOUSERSITE": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONDONTWRITEBYTECODE": "1"],
            errorLog: log, onLine: progress)
        guard status == 0 else { throw converterFailure(status: status, work: work, log: log) }

        guard let reportData = FileManager.default.contents(atPath: work + "/report.json") else {
            throw FerryError(.internal, "the converter wrote no report; full log: \(log)")
        }
        var report = try ConversionReport(converterReport: try JSONParser.parse(reportData))
        report.sourcePath = source
        report.sourceDigest = try SourceDigest.of(source)
        report.environment = environment
        report.ferryRuntimeLibrary = runtimeLibrary
        let model = work + "/model.onnx"
        report.modelDigest = try SourceDigest.file(model)
        report.modelBytes = FileSystem.size(of: model) ?? 0

        progress("checking the model with Ferry's own ONNX Runtime (\(runtimeLibrary))")
        let cases = try ServedModelCheck.readCases(in: work + "/cases")
        report.ferryRuntime = ServedModelCheck.run(model: model, cases: cases, backend: backend)
        report.seconds = (ContinuousClock.now - started).seconds
        try write(report.json(options: options), to: work + "/conversion.json")

        guard report.passed || options.allowMismatch else {
            return Outcome(report: report, written: [], config: nil, workDirectory: work)
        }
        let config = TritonConfigWriter.text(name: options.name, report: report, maxBatchSize: options.maxBatchSize)
        let configOutcome = try placement.place(
            files: [("model.onnx", model), ("conversion.json", work + "/conversion.json")], config: config, force: options.force)
        keepWork = false
        var written = [placement.versionDirectory + "/model.onnx", placement.versionDirectory + "/conversion.json"]
        if configOutcome == .written { written.append(placement.configFile) }
        return Outcome(report: report, written: written, config: configOutcome, workDirectory: nil)
    }

    /// The framework (which environment runs the converter) and, where the
    /// name settles it, the format; otherwise the converter reads the file to tell.
    private func resolveFormat(_ source: String) throws(FerryError) -> (SourceFramework, SourceFormat?) {
        if let format = options.format { return (options.framework ?? format.framework, format) }
        if let detected = SourceFormat.detect(path: source, module: options.module) {
            if let framework = options.framework, framework != detected.framework {
                // `--from` names the framework; the file's name only hinted.
                return (framework, nil)
            }
            // A .pt or .pth may hold TorchScript, an ExportedProgram or a bare
            // state_dict: the converter tells them apart by the archive's entries.
            if detected == .torchscript { return (.pytorch, nil) }
            return (detected.framework, detected)
        }
        if let framework = options.framework { return (framework, nil) }
        if source.lowercased().hasSuffix(".safetensors") {
            throw FerryError(
                .invalidArgument,
                "\(options.source) holds weights only: give --module package.module:factory to build the nn.Module they belong to")
        }
        throw FerryError(
            .invalidArgument,
            "cannot tell what kind of model \(options.source) is from its name; give --from (pytorch, tensorflow, sklearn, onnx, or a format: \(SourceFormat.allCases.map { $0.rawValue }.joined(separator: ", ")))"
        )
    }

    private func requestJSON(source: String, framework: SourceFramework, format: SourceFormat?, work: String) -> Data {
        var writer = JSONWriter()
        func optionalString(_ value: String?) -> (inout JSONWriter) -> Void {
            { writer in value.map { writer.string($0) } ?? writer.raw("null") }
        }
        func optionalNames(_ value: [String]?) -> (inout JSONWriter) -> Void {
            { writer in value.map { writer.list($0) { $0.string($1) } } ?? writer.raw("null") }
        }
        func optionalNumber(_ value: Double?) -> (inout JSONWriter) -> Void {
            { writer in value.map { writer.floatingPoint($0) } ?? writer.raw("null") }
        }
        let absolute: (String) -> String = { URL(fileURLWithPath: $0).standardizedFileURL.path }
        writer.object { object in
            object.member("source", optionalString(source))
            object.member("framework") { $0.string(framework.rawValue) }
            object.member("format", optionalString(format?.rawValue))
            object.member("module", optionalString(options.module))
            object.member("inputs") { writer in
                writer.list(options.inputs) { writer, input in
                    writer.object { entry in
                        entry.member("name") { $0.string(input.name) }
                        entry.member("dims") { $0.list(input.dims) { $0.integer($1) } }
                        entry.member("datatype", optionalString(input.datatype?.rawValue))
                    }
                }
            }
            object.member("output_names", optionalNames(options.outputNames))
            object.member("static_batch") { $0.bool(options.staticBatch) }
            object.member("exporter") { $0.string(options.exporter.rawValue) }
            object.member("opset") { $0.integer(ModelConverter.opset) }
            object.member("graph_inputs", optionalNames(options.graphInputs))
            object.member("graph_outputs", optionalNames(options.graphOutputs))
            object.member("atol", optionalNumber(options.absoluteTolerance))
            object.member("rtol", optionalNumber(options.relativeTolerance))
            object.member("samples", optionalNames(options.samples.map(absolute)))
            object.member("seed") { $0.integer(options.seed) }
            object.member("batch_sizes") { $0.list(ConversionOptions.batchSizes(options)) { $0.integer($1) } }
            object.member("optimize") { $0.bool(options.optimize) }
            object.member("quantize", optionalString(options.quantize?.rawValue))
            object.member("calibration", optionalString(options.calibration.map(absolute)))
            object.member("work_dir", optionalString(work))
        }
        return writer.data
    }

    /// The ONNX opset every exporter is asked for: 18 is the newest that
    /// torch.onnx, tf2onnx 1.17 and skl2onnx all write, and ONNX Runtime 1.31 runs it.
    public static let opset = 18

    private func converterFailure(status: Int32, work: String, log: String) -> FerryError {
        if let data = FileManager.default.contents(atPath: work + "/error.json"), let error = try? JSONParser.parse(data),
            let message = error["message"]?.stringValue
        {
            let code: FerryError.Code =
                switch error["kind"]?.stringValue {
                case "unreadable": .failedPrecondition
                case "internal": .internal
                default: .invalidArgument
                }
            return FerryError(code, "\(message) (full log: \(log))")
        }
        let last = lastLine(ofFile: log)
        return FerryError(.internal, "the converter stopped with status \(status)\(last.isEmpty ? "" : ": " + last) (full log: \(log))")
    }
}
