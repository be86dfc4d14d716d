import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The framework a source model comes from; each has its own pinned Python
/// environment (`converters/requirements-FRAMEWORK.txt`), because their
/// versions cannot share one (TensorFlow 2.15 needs NumPy 1, PyTorch 2.13 NumPy 2).
public enum SourceFramework: String, Sendable, CaseIterable {
    case pytorch
    case tensorflow
    /// scikit-learn, XGBoost and LightGBM: skl2onnx and onnxmltools share one environment.
    case sklearn
    case onnx
}

/// How the source is stored, which decides how the converter loads it.
public enum SourceFormat: String, Sendable, CaseIterable {
    case torchscript
    case exportedProgram = "exported_program"
    case module
    case savedModel = "savedmodel"
    case frozenGraph = "frozen_graph"
    case keras
    case sklearn
    case xgboost
    case lightgbm
    case onnx

    public var framework: SourceFramework {
        switch self {
        case .torchscript, .exportedProgram, .module: .pytorch
        case .savedModel, .frozenGraph, .keras: .tensorflow
        case .sklearn, .xgboost, .lightgbm: .sklearn
        case .onnx: .onnx
        }
    }

    /// What `--from` accepts: a framework (the format is then detected within
    /// it) or an exact format.
    public static func parseFrom(_ text: String) throws(FerryError) -> (SourceFramework, SourceFormat?) {
        let key = String(text.lowercased().map { $0 == "-" ? "_" : $0 })
        let aliases: [String: (SourceFramework, SourceFormat?)] = [
            "pytorch": (.pytorch, nil), "torch": (.pytorch, nil), "tensorflow": (.tensorflow, nil), "tf": (.tensorflow, nil),
            "sklearn": (.sklearn, nil), "scikit_learn": (.sklearn, nil), "onnx": (.onnx, .onnx),
            "saved_model": (.tensorflow, .savedModel), "pt2": (.pytorch, .exportedProgram),
        ]
        if let known = aliases[key] { return known }
        if let format = SourceFormat(rawValue: key) { return (format.framework, format) }
        let names = (["pytorch", "tensorflow", "sklearn", "onnx"] + SourceFormat.allCases.map { $0.rawValue }).joined(separator: ", ")
        throw FerryError(.invalidArgument, "--from '\(text)' is not a source type (one of \(names))")
    }

    /// The format a path holds, from its name and, for directories, its
    /// contents. `nil` when the path says nothing (the caller then asks for `--from`).
    public static func detect(path: String, module: String?) -> SourceFormat? {
        if FileSystem.isDirectory(path) {
            if FileSystem.isRegularFile(path + "/saved_model.pb") || FileSystem.isRegularFile(path + "/saved_model.pbtxt") {
                return .savedModel
            }
            return nil
        }
        let lowercased = path.lowercased()
        func endsWith(_ suffixes: String...) -> Bool { suffixes.contains { lowercased.hasSuffix($0) } }
        if module != nil && endsWith(".pt", ".pth", ".safetensors", ".bin", ".ckpt") { return .module }
        if endsWith(".onnx") { return .onnx }
        if endsWith(".pt2") { return .exportedProgram }
        // A `.pt`/`.pth` without --module is a TorchScript archive; the
        // converter says so when it turns out to be a bare state_dict.
        if endsWith(".pt", ".pth", ".ts", ".torchscript") { return .torchscript }
        if endsWith(".keras", ".h5", ".hdf5") { return .keras }
        if endsWith(".pb") { return .frozenGraph }
        if endsWith(".pkl", ".pickle", ".joblib") { return .sklearn }
        if endsWith(".ubj") { return .xgboost }
        return nil
    }
}
