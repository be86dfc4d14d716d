/// What a model declares about one of its inputs or outputs.
public struct TensorSpec: Sendable, Hashable {
    public var name: String
    public var datatype: DataType
    /// Dimensions; -1 where the model leaves a dimension dynamic or symbolic.
    public var shape: TensorShape
    /// The symbolic name of each dimension (ONNX `dim_param`), `nil` where it has none.
    public var dimensionNames: [String?]
    /// The backend's description of a value that is not a plain tensor (for
    /// example `seq(map(int64,tensor(float)))`), which Ferry carries as `BYTES`.
    public var backendType: String?

    public init(
        name: String,
        datatype: DataType,
        shape: TensorShape,
        dimensionNames: [String?]? = nil,
        backendType: String? = nil
    ) {
        self.name = name
        self.datatype = datatype
        self.shape = shape
        self.dimensionNames = dimensionNames ?? Array(repeating: nil, count: shape.rank)
        self.backendType = backendType
    }

    /// The shape with symbolic dimensions written by name: `[batch, 64]`.
    public var shapeDescription: String {
        let parts = shape.dimensions.enumerated().map { index, dimension in
            if let name = dimensionNames[index], !name.isEmpty { return name }
            return dimension < 0 ? "-1" : String(dimension)
        }
        return "[" + parts.joined(separator: ", ") + "]"
    }
}

/// A model's inputs and outputs.
public struct ModelSignature: Sendable, Hashable {
    public var inputs: [TensorSpec]
    public var outputs: [TensorSpec]

    public init(inputs: [TensorSpec], outputs: [TensorSpec]) {
        self.inputs = inputs
        self.outputs = outputs
    }

    public func input(named name: String) -> TensorSpec? { inputs.first { $0.name == name } }
    public func output(named name: String) -> TensorSpec? { outputs.first { $0.name == name } }
}
