import FerryCore

/// A Kubernetes resource quantity (`500m`, `2`, `512Mi`, `1G`, `1.5Gi`),
/// kept as written for the manifests and read as a number to check it.
public struct ResourceQuantity: Sendable, Hashable, CustomStringConvertible {
    public let text: String
    /// Cores for CPU, bytes for memory.
    public let value: Double

    private static let suffixes: [(String, Double)] = [
        ("Ki", 1024), ("Mi", Double(1 << 20)), ("Gi", Double(1 << 30)), ("Ti", Double(1 << 40)), ("Pi", Double(1 << 50)),
        ("Ei", Double(1 << 60)),
        ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("P", 1e15), ("E", 1e18), ("m", 1e-3),
    ]

    /// - Parameter what: names the option in errors (`--memory`).
    public init(parsing text: String, what: String) throws(FerryError) {
        let fail = FerryError(
            .invalidArgument, "\(what) '\(text)' is not a Kubernetes quantity (like 500m or 2 for CPU, 512Mi or 2Gi for memory)")
        var number = Substring(text)
        var scale = 1.0
        if let (suffix, factor) = Self.suffixes.first(where: { text.hasSuffix($0.0) }) {
            number = number.dropLast(suffix.count)
            scale = factor
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let parsed = Double(number), parsed > 0
        else { throw fail }
        self.text = text
        value = parsed * scale
    }

    init(bytes: Int) {
        let mebibytes = (bytes + (1 << 20) - 1) >> 20
        text = mebibytes % 1024 == 0 ? "\(mebibytes / 1024)Gi" : "\(mebibytes)Mi"
        value = Double(mebibytes << 20)
    }

    public var description: String { text }

    /// Whole bytes (memory).
    public var bytes: Int { Int(value.rounded(.up)) }

    /// Cores as Docker Compose writes them (`0.5`, `2`).
    var composeCPUs: String { value == value.rounded() ? String(Int(value)) : String(value) }

    /// Bytes in Compose's units (`512m`, `2g`: binary, as Docker reads them).
    var composeBytes: String {
        let bytes = self.bytes
        if bytes % (1 << 30) == 0 { return "\(bytes >> 30)g" }
        if bytes % (1 << 20) == 0 { return "\(bytes >> 20)m" }
        if bytes % 1024 == 0 { return "\(bytes >> 10)k" }
        return "\(bytes)b"
    }

    static func megabytes(_ bytes: Int) -> String { "\((Double(bytes) / Double(1 << 20)).fixed(0)) MiB" }
}
