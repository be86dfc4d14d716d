import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension InferenceResponse {
    /// Encodes the v2 response body with every output's data as JSON:
    /// `{"model_name","model_version","id"?,"parameters"?,"outputs":[{"name","datatype","shape","data"}]}`.
    public func v2JSON() throws(FerryError) -> Data {
        var writer = JSONWriter(reservingCapacity: 128 + outputs.reduce(0) { $0 + $1.data.count * 3 })
        try write(to: &writer)
        return writer.data
    }

    /// Encodes the response for the binary tensor extension: outputs named in
    /// `binaryOutputs` carry `binary_data_size` instead of `data`, and their
    /// bytes follow the JSON header in output order.
    public func v2Body(binaryOutputs: Set<String>) throws(FerryError) -> (header: Data, binary: [Data]) {
        var writer = JSONWriter(reservingCapacity: 256)
        try write(to: &writer, binaryOutputs: binaryOutputs)
        return (writer.data, outputs.filter { binaryOutputs.contains($0.name) }.map { $0.data })
    }

    public func write(to writer: inout JSONWriter, binaryOutputs: Set<String> = []) throws(FerryError) {
        var failure: FerryError?
        writer.object { object in
            object.member("model_name") { $0.string(modelName) }
            if let modelVersion { object.member("model_version") { $0.string(modelVersion) } }
            if let id { object.member("id") { $0.string(id) } }
            if !parameters.isEmpty { object.member("parameters") { $0.parameters(parameters) } }
            object.member("outputs") { writer in
                writer.list(outputs) { writer, output in
                    if let error = writer.v2Tensor(output, binary: binaryOutputs.contains(output.name)) { failure = error }
                }
            }
        }
        if let failure { throw failure }
    }
}

extension JSONWriter {
    /// A v2 tensor object: `{"name","datatype","shape","data"}`, or with
    /// `binary`, `"parameters":{"binary_data_size":N}` in place of the data
    /// (whose bytes then follow the JSON header). Returns the error of a data
    /// conversion that failed (the data is then written as null).
    mutating func v2Tensor(_ tensor: Tensor, binary: Bool) -> FerryError? {
        var failure: FerryError?
        object { object in
            object.member("name") { $0.string(tensor.name) }
            object.member("datatype") { $0.string(tensor.datatype.rawValue) }
            object.member("shape") { $0.list(tensor.shape.dimensions) { $0.integer($1) } }
            if binary {
                object.member("parameters") { $0.parameters(["binary_data_size": .int(Int64(tensor.data.count))]) }
                return
            }
            object.member("data") { writer in
                do throws(FerryError) {
                    try TensorJSONCoding.write(tensor, to: &writer)
                } catch {
                    failure = error
                    writer.raw("null")
                }
            }
        }
        return failure
    }

    public mutating func parameters(_ parameters: InferenceParameters) {
        object { object in
            for key in parameters.keys.sorted() {
                object.member(key) { writer in
                    switch parameters[key]! {
                    case .bool(let flag): writer.bool(flag)
                    case .int(let integer): writer.integer(integer)
                    case .double(let number): writer.floatingPoint(number)
                    case .string(let text): writer.string(text)
                    }
                }
            }
        }
    }
}

extension InferenceResponse {
    /// Decodes a v2 response body (a client's side of the exchange); binary
    /// outputs take their bytes from `binary`, the data after the JSON header.
    public init(v2JSON document: JSONValue, binary: Data = Data()) throws(FerryError) {
        guard case .object = document else {
            throw FerryError(.invalidArgument, "the response body must be a JSON object, not \(document.kindDescription)")
        }
        if case .string(let message)? = document["error"] {
            throw FerryError(.internal, message)
        }
        guard case .string(let modelName)? = document["model_name"] else {
            throw FerryError(.invalidArgument, "the response has no 'model_name'")
        }
        guard case .array(let outputObjects)? = document["outputs"] else {
            throw FerryError(.invalidArgument, "the response has no 'outputs' array")
        }
        var decoder = V2TensorDecoder(binary: binary, role: "output")
        var outputs: [Tensor] = []
        for (index, object) in outputObjects.enumerated() {
            outputs.append(try decoder.decode(object, index: index))
        }
        try decoder.finish(owner: "the response")
        self.init(
            modelName: modelName,
            modelVersion: document["model_version"]?.stringValue,
            id: document["id"]?.stringValue,
            outputs: outputs,
            parameters: try InferenceRequest.decodeParameters(document["parameters"], owner: "the response")
        )
    }
}
