#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What `ferry inspect` shows about a model: its signature and metadata, as a
/// table for people or as JSON for programs.
public struct ModelDescription: Sendable {
    public var name: String
    public var platform: String
    public var signature: ModelSignature
    public var metadata: ModelMetadata

    public init(name: String, platform: String, signature: ModelSignature, metadata: ModelMetadata) {
        self.name = name
        self.platform = platform
        self.signature = signature
        self.metadata = metadata
    }

    public var text: String {
        var lines = ["Model \(name) (\(platform))"]
        let fields: [(String, String)] = [
            ("producer", metadata.producerName),
            ("graph", metadata.graphName),
            ("domain", metadata.domain),
            ("version", metadata.version.map(String.init) ?? ""),
            ("description", metadata.description),
            ("graph description", metadata.graphDescription),
        ]
        for (label, value) in fields where !value.isEmpty {
            lines.append("  \(label): \(value)")
        }
        for (title, specs) in [("Inputs", signature.inputs), ("Outputs", signature.outputs)] {
            lines.append("")
            lines.append(title)
            let rows =
                [["NAME", "DATATYPE", "SHAPE"]]
                + specs.map { spec in
                    [
                        spec.name, spec.datatype.rawValue,
                        spec.backendType.map { "\(spec.shapeDescription)  \($0)" } ?? spec.shapeDescription,
                    ]
                }
            lines.append(contentsOf: Self.table(rows))
        }
        if !metadata.custom.isEmpty {
            lines.append("")
            lines.append("Custom metadata")
            lines.append(contentsOf: Self.table(metadata.custom.keys.sorted().map { [$0, metadata.custom[$0]!] }))
        }
        return lines.joined(separator: "\n")
    }

    private static func table(_ rows: [[String]]) -> [String] {
        guard let columns = rows.first?.count else { return [] }
        let widths = (0..<columns).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            "  "
                + row.enumerated().map { column, cell in
                    column == columns - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
                }.joined(separator: "  ")
        }
    }

    public var json: Data {
        var writer = JSONWriter()
        writer.object { object in
            object.member("name") { $0.string(name) }
            object.member("platform") { $0.string(platform) }
            object.member("inputs") { $0.list(signature.inputs) { $0.tensorSpec($1) } }
            object.member("outputs") { $0.list(signature.outputs) { $0.tensorSpec($1) } }
            object.member("metadata") { writer in
                writer.object { object in
                    object.member("producer_name") { $0.string(metadata.producerName) }
                    object.member("graph_name") { $0.string(metadata.graphName) }
                    object.member("domain") { $0.string(metadata.domain) }
                    object.member("description") { $0.string(metadata.description) }
                    object.member("graph_description") { $0.string(metadata.graphDescription) }
                    object.member("version") { writer in
                        if let version = metadata.version { writer.integer(version) } else { writer.raw("null") }
                    }
                    object.member("custom") { $0.value(.object(metadata.custom.mapValues { .string($0) })) }
                }
            }
        }
        return writer.data
    }
}

extension JSONWriter {
    /// `{"name","datatype","shape","dim_names","onnx_type"?}`: v2 tensor metadata plus
    /// the symbolic dimension names and non-tensor type Ferry knows.
    mutating func tensorSpec(_ spec: TensorSpec) {
        object { object in
            object.member("name") { $0.string(spec.name) }
            object.member("datatype") { $0.string(spec.datatype.rawValue) }
            object.member("shape") { $0.list(spec.shape.dimensions) { $0.integer($1) } }
            object.member("dim_names") { writer in
                writer.list(spec.dimensionNames) { writer, name in
                    if let name { writer.string(name) } else { writer.raw("null") }
                }
            }
            if let backendType = spec.backendType { object.member("onnx_type") { $0.string(backendType) } }
        }
    }
}
