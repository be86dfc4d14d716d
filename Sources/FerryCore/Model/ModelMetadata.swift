/// Descriptive metadata a model file carries (ONNX `ModelProto` fields).
public struct ModelMetadata: Sendable, Hashable {
    public var producerName: String
    public var graphName: String
    public var domain: String
    public var description: String
    public var graphDescription: String
    /// The model's version number, `nil` when the file sets none.
    public var version: Int64?
    /// Free-form key/value pairs (ONNX `metadata_props`).
    public var custom: [String: String]

    public init(
        producerName: String = "",
        graphName: String = "",
        domain: String = "",
        description: String = "",
        graphDescription: String = "",
        version: Int64? = nil,
        custom: [String: String] = [:]
    ) {
        self.producerName = producerName
        self.graphName = graphName
        self.domain = domain
        self.description = description
        self.graphDescription = graphDescription
        self.version = version
        self.custom = custom
    }
}
