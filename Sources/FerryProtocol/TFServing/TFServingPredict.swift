import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// TensorFlow Serving's REST `:predict` body, in both of its formats:
///
/// - row ("instances"): a list with one entry per batch row, each the value
///   of the model's only input or an object naming every input; answered
///   with `{"predictions": [...]}`, one entry per row;
/// - columnar ("inputs"): whole tensors, the only input's value or an object
///   naming every input; answered with `{"outputs": ...}`.
public enum TFServingPredict {
    /// The one signature an ONNX model has, under TF's default name.
    public static let signatureName = "serving_default"

    public enum Format: Sendable {
        case row
        case columnar
    }

    public struct Request: Sendable {
        public var inference: InferenceRequest
        public var format: Format
    }

    /// An empty signature name means the default; any other is refused with
    /// the name the model has.
    public static func checkSignature(_ name: String, model: String) throws(FerryError) {
        guard name.isEmpty || name == signatureName else {
            throw FerryError(.invalidArgument, "model '\(model)' has no signature '\(name)'; its one signature is '\(signatureName)'")
        }
    }

    public static func request(_ body: Data, signature: ModelSignature, model: String) throws(FerryError) -> Request {
        guard case .object(let members) = try JSONParser.parse(body) else {
            throw FerryError(.invalidArgument, "the request body must be a JSON object with \"instances\" or \"inputs\"")
        }
        if let name = members["signature_name"] {
            guard case .string(let text) = name else { throw FerryError(.invalidArgument, "\"signature_name\" must be a string") }
            try checkSignature(text, model: model)
        }
        switch (members["instances"], members["inputs"]) {
        case (let instances?, nil):
            return Request(inference: InferenceRequest(inputs: try rows(instances, signature: signature, model: model)), format: .row)
        case (nil, let inputs?):
            return Request(inference: InferenceRequest(inputs: try columns(inputs, signature: signature, model: model)), format: .columnar)
        case (nil, nil):
            throw FerryError(.invalidArgument, "the request names no inputs: give \"instances\" (row format) or \"inputs\" (columnar format)")
        case (_?, _?):
            throw FerryError(.invalidArgument, "the request gives both \"instances\" and \"inputs\"; use one format")
        }
    }

    /// Named values: an object whose members are inputs, unless it is a
    /// single `{"b64": …}` value. A bare value belongs to the only input.
    private static func named(_ value: JSONValue, signature: ModelSignature, model: String, role: String) throws(FerryError) -> [(String, JSONValue)] {
        if case .object(let members) = value, !TFServingJSONTensor.isBase64Leaf(value) {
            return members.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
        guard signature.inputs.count == 1 else {
            throw FerryError(
                .invalidArgument,
                "model '\(model)' has \(signature.inputs.count) inputs, so each \(role) must be an object naming them (\(signature.inputs.map(\.name).joined(separator: ", ")))"
            )
        }
        return [(signature.inputs[0].name, value)]
    }

    private static func columns(_ value: JSONValue, signature: ModelSignature, model: String) throws(FerryError) -> [Tensor] {
        var tensors: [Tensor] = []
        for (name, tensorValue) in try named(value, signature: signature, model: model, role: "\"inputs\" value") {
            let spec = try signature.knownInput(name, modelName: model)
            let (shape, leaves) = try TFServingJSONTensor.leaves(tensorValue, tensor: name)
            tensors.append(try TFServingJSONTensor.tensor(name: name, datatype: spec.datatype, shape: shape, leaves: leaves))
        }
        return tensors
    }

    private static func rows(_ value: JSONValue, signature: ModelSignature, model: String) throws(FerryError) -> [Tensor] {
        guard case .array(let instances) = value, !instances.isEmpty else {
            throw FerryError(.invalidArgument, "\"instances\" must be a non-empty list, one entry per batch row")
        }
        // Each input's rows, in instance order; every instance names the same inputs.
        var order: [String] = []
        var gathered: [String: (shape: [Int], leaves: [JSONValue])] = [:]
        for (index, instance) in instances.enumerated() {
            let values = try named(instance, signature: signature, model: model, role: "instance")
            let names = values.map(\.0)
            if index == 0 {
                order = names
            } else if names != order {
                throw FerryError(
                    .invalidArgument,
                    "instance \(index) names inputs \(names), but instance 0 names \(order); every instance gives the same inputs")
            }
            for (name, rowValue) in values {
                let (shape, leaves) = try TFServingJSONTensor.leaves(rowValue, tensor: name)
                if let first = gathered[name] {
                    guard first.shape == shape else {
                        throw FerryError(
                            .invalidArgument,
                            "input '\(name)': instance \(index) has shape \(shape), but instance 0 has \(first.shape); rows of a batch have one shape")
                    }
                    gathered[name]!.leaves += leaves
                } else {
                    gathered[name] = (shape, leaves)
                }
            }
        }
        var tensors: [Tensor] = []
        for name in order {
            let spec = try signature.knownInput(name, modelName: model)
            let (rowShape, leaves) = gathered[name]!
            tensors.append(
                try TFServingJSONTensor.tensor(name: name, datatype: spec.datatype, shape: [instances.count] + rowShape, leaves: leaves))
        }
        return tensors
    }

    public static func response(_ response: InferenceResponse, format: Format) throws(FerryError) -> Data {
        let outputs = try response.outputs.map { (output) throws(FerryError) in try TFServingJSONTensor.Writer(output) }
        var writer = JSONWriter(reservingCapacity: 64 + response.outputs.reduce(0) { $0 + $1.data.count * 3 })
        switch format {
        case .columnar:
            writer.object { object in
                object.member("outputs") { writer in
                    if outputs.count == 1 {
                        outputs[0].write(dims: outputs[0].tensor.shape.dimensions[...], offset: 0, to: &writer)
                    } else {
                        writer.object { named in
                            for output in outputs {
                                named.member(output.tensor.name) { output.write(dims: output.tensor.shape.dimensions[...], offset: 0, to: &$0) }
                            }
                        }
                    }
                }
            }
        case .row:
            let rows = try batchSize(of: response.outputs)
            writer.object { object in
                object.member("predictions") { writer in
                    writer.list(0..<rows) { writer, row in
                        if outputs.count == 1 {
                            rowValue(outputs[0], row, to: &writer)
                        } else {
                            writer.object { named in
                                for output in outputs { named.member(output.tensor.name) { rowValue(output, row, to: &$0) } }
                            }
                        }
                    }
                }
            }
        }
        return writer.data
    }

    private static func rowValue(_ output: TFServingJSONTensor.Writer, _ row: Int, to writer: inout JSONWriter) {
        let inner = output.tensor.shape.dimensions.dropFirst()
        output.write(dims: inner, offset: row * inner.reduce(1, *), to: &writer)
    }

    /// The row count every output shares, which the row format needs.
    private static func batchSize(of outputs: [Tensor]) throws(FerryError) -> Int {
        var rows: Int?
        for output in outputs {
            guard let first = output.shape.dimensions.first else {
                throw FerryError(
                    .invalidArgument,
                    "output '\(output.name)' is a scalar, which the row format (\"instances\") cannot split into rows; use the columnar format (\"inputs\")")
            }
            if let rows, rows != first {
                throw FerryError(
                    .invalidArgument,
                    "the outputs have different batch sizes (\(rows) and \(first) for '\(output.name)'), which the row format (\"instances\") cannot return; use the columnar format (\"inputs\")")
            }
            rows = first
        }
        return rows ?? 0
    }
}
