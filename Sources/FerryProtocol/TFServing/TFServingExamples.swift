import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// TensorFlow Serving's REST `:classify` and `:regress`: the request is a list
/// of examples (`tf.Example` features written as JSON, `{"feature": value}`,
/// plus optional `context` features shared by all), one batch row each; the
/// answer reads the model's outputs as a classification or a regression.
///
/// An ONNX model has no classification or regression signature, so Ferry
/// reads its outputs this way:
/// - classify: the scores are the float output of shape [batch, classes]
///   (the one named `scores` or `probabilities` when there are several); the
///   labels come from an output `classes` of the same shape, or are the class
///   indexes;
/// - regress: the value is the float output of shape [batch] or [batch, 1]
///   (the one named `outputs` when there are several).
/// A model without such outputs is refused before it runs, naming what is missing.
public enum TFServingExamples {
    public enum Method: String, Sendable {
        case classify
        case regress
    }

    public struct Request: Sendable {
        public var inference: InferenceRequest
        public var method: Method
        let scores: String
        let classes: String?
    }

    public static func request(_ body: Data, method: Method, signature: ModelSignature, model: String) throws(FerryError) -> Request {
        guard case .object(let members) = try JSONParser.parse(body) else {
            throw FerryError(.invalidArgument, "the request body must be a JSON object with \"examples\"")
        }
        if let name = members["signature_name"] {
            guard case .string(let text) = name else { throw FerryError(.invalidArgument, "\"signature_name\" must be a string") }
            try TFServingPredict.checkSignature(text, model: model)
        }
        guard case .array(let examples)? = members["examples"], !examples.isEmpty else {
            throw FerryError(.invalidArgument, "\"examples\" must be a non-empty list of objects, one per batch row")
        }
        var context: [String: JSONValue] = [:]
        if let given = members["context"] {
            guard case .object(let features) = given else { throw FerryError(.invalidArgument, "\"context\" must be an object of features") }
            context = features
        }
        let (scores, classes) = try outputs(for: method, signature: signature, model: model)
        var inputs: [Tensor] = []
        for spec in signature.inputs {
            inputs.append(try stack(spec, examples: examples, context: context, model: model))
        }
        var requested = [InferenceRequest.RequestedOutput(name: scores)]
        if let classes { requested.append(.init(name: classes)) }
        return Request(inference: InferenceRequest(inputs: inputs, outputs: requested), method: method, scores: scores, classes: classes)
    }

    /// One input's batch: each example's feature, shaped as a row of the input.
    private static func stack(_ spec: TensorSpec, examples: [JSONValue], context: [String: JSONValue], model: String) throws(FerryError)
        -> Tensor
    {
        guard spec.shape.dimensions.first == -1 else {
            throw FerryError(
                .invalidArgument,
                "model '\(model)' does not batch (input '\(spec.name)' has shape \(spec.shapeDescription)), so it cannot take a list of examples; use :predict"
            )
        }
        let rowDims = Array(spec.shape.dimensions.dropFirst())
        var leaves: [JSONValue] = []
        var rowShape: [Int]?
        for (index, example) in examples.enumerated() {
            guard case .object(let features) = example else {
                throw FerryError(.invalidArgument, "example \(index) is \(example.kindDescription); each example is an object of features")
            }
            guard let feature = features[spec.name] ?? context[spec.name] else {
                throw FerryError(
                    .invalidArgument, "example \(index) has no feature '\(spec.name)', which model '\(model)' takes as input (nor has \"context\")")
            }
            let values = try TFServingJSONTensor.leaves(feature, tensor: spec.name).leaves
            let shape = try row(rowDims, count: values.count, input: spec, example: index)
            if let rowShape, rowShape != shape {
                throw FerryError(
                    .invalidArgument, "feature '\(spec.name)' has \(values.count) values in example \(index), a different row shape than example 0")
            }
            rowShape = shape
            leaves += values
        }
        return try TFServingJSONTensor.tensor(
            name: spec.name, datatype: spec.datatype, shape: [examples.count] + (rowShape ?? []), leaves: leaves)
    }

    /// The row shape `count` values fill: the input's dims with at most one
    /// variable dimension, which the count decides.
    private static func row(_ dims: [Int], count: Int, input: TensorSpec, example: Int) throws(FerryError) -> [Int] {
        let variable = dims.indices.filter { dims[$0] < 0 }
        let fixed = dims.filter { $0 >= 0 }.reduce(1, *)
        let fits: Bool
        var shape = dims
        switch variable.count {
        case 0: fits = fixed == count
        case 1:
            fits = fixed > 0 && count % fixed == 0
            if fits { shape[variable[0]] = count / fixed }
        default: fits = false
        }
        guard fits else {
            throw FerryError(
                .invalidArgument,
                "feature '\(input.name)' has \(count) values in example \(example), which do not fill a row of input '\(input.name)' (shape \(input.shapeDescription))"
            )
        }
        return shape
    }

    private static func outputs(for method: Method, signature: ModelSignature, model: String) throws(FerryError) -> (String, String?) {
        let all = signature.outputs.map { "\($0.name) \($0.datatype.rawValue) \($0.shapeDescription)" }.joined(separator: "; ")
        switch method {
        case .classify:
            let candidates = signature.outputs.filter { $0.datatype.isFloatingPoint && $0.shape.rank == 2 && $0.shape.dimensions[0] == -1 }
            let scores = try pick(candidates, preferring: ["scores", "probabilities"], model: model, method: method,
                needs: "a float output of shape [batch, classes]", outputs: all)
            let classes = signature.outputs.first { output in
                output.name == "classes" && output.shape.rank == 2 && [.bytes, .int32, .int64].contains(output.datatype)
            }
            return (scores.name, classes?.name)
        case .regress:
            let candidates = signature.outputs.filter { output in
                output.datatype.isFloatingPoint && output.shape.dimensions.first == -1
                    && (output.shape.rank == 1 || (output.shape.rank == 2 && output.shape.dimensions[1] == 1))
            }
            let value = try pick(candidates, preferring: ["outputs"], model: model, method: method,
                needs: "a float output of shape [batch] or [batch, 1]", outputs: all)
            return (value.name, nil)
        }
    }

    private static func pick(
        _ candidates: [TensorSpec], preferring names: [String], model: String, method: Method, needs: String, outputs: String
    ) throws(FerryError) -> TensorSpec {
        if candidates.count == 1 { return candidates[0] }
        for name in names {
            if let match = candidates.first(where: { $0.name == name }) { return match }
        }
        let problem = candidates.isEmpty ? "has no output :\(method.rawValue) can read" : "has several outputs :\(method.rawValue) could read"
        throw FerryError(
            .invalidArgument,
            "model '\(model)' \(problem): it needs \(needs)\(candidates.isEmpty ? "" : ", named \(names.joined(separator: " or ")) when there are several") (outputs: \(outputs)); use :predict"
        )
    }

    public static func response(_ response: InferenceResponse, for request: Request) throws(FerryError) -> Data {
        guard let scores = response.outputs.first(where: { $0.name == request.scores }) else {
            throw FerryError(.internal, "the model returned no output '\(request.scores)'")
        }
        let values = try floats(scores)
        // float32 scores are written at float32 precision (0.1, not 0.10000000149011612).
        let single = scores.datatype != .fp64
        func write(_ value: Double, to writer: inout JSONWriter) {
            if single { writer.floatingPoint(Float(value)) } else { writer.floatingPoint(value) }
        }
        let rows = scores.shape.dimensions.first ?? 0
        var writer = JSONWriter(reservingCapacity: 32 + values.count * 24)
        switch request.method {
        case .regress:
            writer.object { object in object.member("result") { $0.list(values) { write($1, to: &$0) } } }
        case .classify:
            let width = rows > 0 ? values.count / rows : 0
            let labels = try request.classes.flatMap { name throws(FerryError) in
                try response.outputs.first { $0.name == name }.map(Self.labels)
            }
            writer.object { object in
                object.member("result") { writer in
                    writer.list(0..<rows) { writer, row in
                        writer.list(0..<width) { writer, column in
                            let index = row * width + column
                            writer.raw("[")
                            writer.string(labels.map { $0[index] } ?? String(column))
                            writer.raw(",")
                            write(values[index], to: &writer)
                            writer.raw("]")
                        }
                    }
                }
            }
        }
        return writer.data
    }

    private static func floats(_ tensor: Tensor) throws(FerryError) -> [Double] {
        switch tensor.datatype {
        case .fp16: try tensor.values(as: Float16.self).map { Double($0) }
        case .bf16: try tensor.values(as: BFloat16.self).map { Double($0.floatValue) }
        case .fp32: try tensor.values(as: Float.self).map { Double($0) }
        case .fp64: try tensor.values(as: Double.self)
        default: throw FerryError(.internal, "output '\(tensor.name)' is \(tensor.datatype.rawValue), not a float tensor")
        }
    }

    private static func labels(_ tensor: Tensor) throws(FerryError) -> [String] {
        switch tensor.datatype {
        case .bytes:
            try tensor.byteElements().enumerated().map { (index, bytes) throws(FerryError) in
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    throw FerryError(.invalidArgument, "class label \(index) of output '\(tensor.name)' is not UTF-8 text, which a JSON result cannot carry unaltered; use :predict")
                }
                return text
            }
        case .int64: try tensor.values(as: Int64.self).map { String($0) }
        case .int32: try tensor.values(as: Int32.self).map { String($0) }
        default: try (0..<(tensor.shape.elementCount ?? 0)).map { String($0) }
        }
    }
}
