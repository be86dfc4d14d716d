import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Everything `ferry convert` was asked to do, checked before any work starts.
public struct ConversionOptions: Sendable {
    public var source: String
    public var repository: String
    public var name: String
    public var version: Int
    /// `nil`: detected from the source.
    public var framework: SourceFramework?
    public var format: SourceFormat?
    /// `package.module:factory` that builds the PyTorch module whose weights `source` holds.
    public var module: String?
    public var inputs: [InputExample]
    public var outputNames: [String]?
    public var staticBatch: Bool
    public var exporter: TorchExporter
    /// Tensor names of a frozen TensorFlow graph.
    public var graphInputs: [String]?
    public var graphOutputs: [String]?
    public var absoluteTolerance: Double?
    public var relativeTolerance: Double?
    public var samples: [String]
    public var seed: UInt64
    public var optimize: Bool
    public var quantize: Quantization?
    public var calibration: String?
    public var allowMismatch: Bool
    public var force: Bool
    /// `max_batch_size` written to config.pbtxt when the batch dimension is dynamic.
    public var maxBatchSize: Int

    public init(
        source: String, repository: String, name: String? = nil, version: Int = 1, framework: SourceFramework? = nil,
        format: SourceFormat? = nil, module: String? = nil, inputs: [InputExample] = [], outputNames: [String]? = nil,
        staticBatch: Bool = false, exporter: TorchExporter = .dynamo, graphInputs: [String]? = nil, graphOutputs: [String]? = nil,
        absoluteTolerance: Double? = nil, relativeTolerance: Double? = nil, samples: [String] = [], seed: UInt64 = 20_261_204,
        optimize: Bool = false, quantize: Quantization? = nil, calibration: String? = nil, allowMismatch: Bool = false,
        force: Bool = false, maxBatchSize: Int = 8
    ) {
        self.source = source
        self.repository = repository
        self.name = name ?? ConversionOptions.defaultName(for: source)
        self.version = version
        self.framework = framework
        self.format = format
        self.module = module
        self.inputs = inputs
        self.outputNames = outputNames
        self.staticBatch = staticBatch
        self.exporter = exporter
        self.graphInputs = graphInputs
        self.graphOutputs = graphOutputs
        self.absoluteTolerance = absoluteTolerance
        self.relativeTolerance = relativeTolerance
        self.samples = samples
        self.seed = seed
        self.optimize = optimize
        self.quantize = quantize
        self.calibration = calibration
        self.allowMismatch = allowMismatch
        self.force = force
        self.maxBatchSize = maxBatchSize
    }

    /// The model's name when `--name` is not given: the source's file name
    /// without its extension (`resnet18.pt` → `resnet18`), as `ferry serve
    /// model.onnx` names a single file.
    public static func defaultName(for source: String) -> String {
        var url = URL(fileURLWithPath: source).standardizedFileURL
        if url.lastPathComponent.isEmpty || url.lastPathComponent == "." { url = url.deletingLastPathComponent() }
        var name = url.deletingPathExtension().lastPathComponent
        // A Keras SavedModel export's directory is often `…/1`; name it after its parent.
        if Int(name) != nil { name = url.deletingLastPathComponent().lastPathComponent }
        return name
    }

    /// The checks that need no Python: names, numbers and paths.
    public func validate() throws(FerryError) {
        guard !name.isEmpty, !name.hasPrefix("."), !name.contains("/"), name != ".." else {
            throw FerryError(.invalidArgument, "'\(name)' is not a model name: it must not be empty, start with a dot or contain '/'")
        }
        guard version >= 1 else {
            throw FerryError(.invalidArgument, "--version must be 1 or more (Triton's version directories are positive integers)")
        }
        guard maxBatchSize >= 1 else { throw FerryError(.invalidArgument, "--max-batch-size must be 1 or more") }
        let inputNames = inputs.map { $0.name }
        if let duplicate = inputNames.firstDuplicate {
            throw FerryError(.invalidArgument, "input '\(duplicate)' is given twice with --input")
        }
        if let outputNames {
            if let duplicate = outputNames.firstDuplicate {
                throw FerryError(.invalidArgument, "output '\(duplicate)' is named twice in --output-names")
            }
            if let empty = outputNames.firstIndex(where: { $0.isEmpty }) {
                throw FerryError(.invalidArgument, "--output-names has an empty name at position \(empty + 1)")
            }
        }
        for tolerance in [absoluteTolerance, relativeTolerance].compactMap({ $0 }) where !(tolerance >= 0 && tolerance.isFinite) {
            throw FerryError(.invalidArgument, "tolerances must be finite and not negative (got \(tolerance))")
        }
        if calibration != nil && quantize == nil {
            throw FerryError(.invalidArgument, "--calibration calibrates --quantize int8: give both")
        }
        for file in samples + [calibration].compactMap({ $0 }) where !FileSystem.isRegularFile(file) {
            throw FerryError(.notFound, "no file at \(file)")
        }
        if let module, module.split(separator: ":").count != 2 {
            throw FerryError(.invalidArgument, "--module '\(module)' must be package.module:factory (a function that returns the nn.Module)")
        }
    }
}

/// An input's example shape from `--input NAME:DIMS[:DATATYPE]`
/// (`image:1,3,224,224:FP32`); the first dimension is the batch.
public struct InputExample: Sendable, Equatable {
    public var name: String
    public var dims: [Int]
    public var datatype: DataType?

    public init(name: String, dims: [Int], datatype: DataType? = nil) {
        self.name = name
        self.dims = dims
        self.datatype = datatype
    }

    public init(parsing text: String) throws(FerryError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3, !parts[0].isEmpty else {
            throw FerryError(.invalidArgument, "--input '\(text)' must be NAME:DIMS[:DATATYPE], for example image:1,3,224,224:FP32")
        }
        var dims: [Int] = []
        for piece in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
            guard let dim = Int(piece.trimmingWhitespace), dim >= 1 else {
                throw FerryError(
                    .invalidArgument, "--input '\(text)': '\(piece)' is not a dimension (each is a positive integer, the batch first)")
            }
            dims.append(dim)
        }
        self.name = parts[0]
        self.dims = dims
        self.datatype = parts.count == 3 ? try DataType(v2Name: parts[2].uppercased()) : nil
    }
}

public enum TorchExporter: String, Sendable, CaseIterable {
    /// `torch.onnx.export(..., dynamo=True)`: torch.export's graph, PyTorch's recommended path.
    case dynamo
    /// The legacy TorchScript-based exporter, for models torch.export cannot trace.
    case torchscript
}

public enum Quantization: String, Sendable, CaseIterable {
    case int8
}

extension Array where Element: Hashable {
    var firstDuplicate: Element? {
        var seen = Set<Element>()
        return first { !seen.insert($0).inserted }
    }
}
