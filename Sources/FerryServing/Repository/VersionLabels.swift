import FerryCore

/// Names for a model's versions, as TensorFlow Serving's `version_labels`
/// give them (`stable`, `canary`): clients ask for a label and the operator
/// moves it from one version to the next by editing the configuration.
///
/// Written in config.pbtxt as a model parameter, so a Triton repository stays
/// valid: `parameters { key: "version_labels" value: { string_value: "stable=1,canary=2" } }`.
public struct VersionLabels: Sendable, Hashable {
    public static let parameter = "version_labels"

    public private(set) var versions: [String: Int64] = [:]

    public init(_ versions: [String: Int64] = [:]) {
        self.versions = versions
    }

    /// Parses `label=version` pairs separated by commas. A label is letters,
    /// digits, `_` and `-`, and does not start with a digit (TF Serving's rule,
    /// which keeps labels apart from version numbers in a URL).
    public init(parameter text: String, modelName: String) throws(FerryError) {
        func fail(_ problem: String) -> FerryError {
            FerryError(.failedPrecondition, "model '\(modelName)': parameter \(Self.parameter) \(problem)")
        }
        for pair in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = pair.split(separator: "=", omittingEmptySubsequences: false).map { $0.trimmingSpaces() }
            guard parts.count == 2, !parts[0].isEmpty else {
                throw fail("has '\(pair.trimmingSpaces())'; write label=version pairs separated by commas, such as stable=1,canary=2")
            }
            let label = parts[0]
            guard let first = label.unicodeScalars.first, !("0"..."9").contains(first),
                label.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic && $0.isASCII || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" })
            else {
                throw fail("has label '\(label)'; a label is ASCII letters, digits, '_' and '-', and does not start with a digit")
            }
            guard let version = Int64(parts[1]), version > 0 else {
                throw fail("gives label '\(label)' version '\(parts[1])'; versions are positive integers")
            }
            guard versions.updateValue(version, forKey: label) == nil else {
                throw fail("names label '\(label)' twice")
            }
        }
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

extension ModelConfiguration {
    /// The configured version labels; a malformed parameter fails the load.
    public func versionLabels() throws(FerryError) -> VersionLabels {
        guard let text = parameters[VersionLabels.parameter], !text.isEmpty else { return VersionLabels() }
        return try VersionLabels(parameter: text, modelName: name)
    }
}
