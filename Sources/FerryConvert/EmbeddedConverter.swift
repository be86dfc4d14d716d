import FerryCore

/// The converter script and the pinned requirements, compiled into `ferry`
/// (from `converters/`, by `scripts/embed-converters`).
public enum EmbeddedConverter {
    public static func requirements(for framework: SourceFramework) -> String {
        switch framework {
        case .pytorch: pytorchRequirements
        case .tensorflow: tensorflowRequirements
        case .sklearn: sklearnRequirements
        case .onnx: onnxRequirements
        }
    }

    /// The pinned version of `package` in the framework's requirements (`torch` → `2.13.0`).
    public static func pinnedVersion(of package: String, in framework: SourceFramework) -> String? {
        for line in requirements(for: framework).split(whereSeparator: \.isNewline) {
            let parts = line.prefix { $0 != "#" }.split(separator: "=", omittingEmptySubsequences: true)
            if parts.count == 2, parts[0].lowercased().trimmingWhitespace == package.lowercased() {
                return parts[1].trimmingWhitespace
            }
        }
        return nil
    }
}
