import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension InferenceRequest {
    /// Encodes the request body. With `binary`, input data follows the JSON
    /// header (Triton's binary tensor extension; the header's length goes in
    /// `Inference-Header-Content-Length`) and every output is asked for as
    /// binary data too.
    public func v2Body(binary: Bool) throws(FerryError) -> (header: Data, binary: [Data]) {
        var writer = JSONWriter(reservingCapacity: binary ? 256 : 256 + inputs.reduce(0) { $0 + $1.data.count * 3 })
        var failure: FerryError?
        writer.object { object in
            if let id { object.member("id") { $0.string(id) } }
            var parameters = self.parameters
            if binary && outputs.isEmpty { parameters["binary_data_output"] = .bool(true) }
            if !parameters.isEmpty { object.member("parameters") { $0.parameters(parameters) } }
            object.member("inputs") { writer in
                writer.list(inputs) { writer, input in
                    if let error = writer.v2Tensor(input, binary: binary) { failure = error }
                }
            }
            if !outputs.isEmpty {
                object.member("outputs") { writer in
                    writer.list(outputs) { writer, output in
                        writer.object { object in
                            object.member("name") { $0.string(output.name) }
                            var parameters = output.parameters
                            if binary { parameters["binary_data"] = .bool(true) }
                            if !parameters.isEmpty { object.member("parameters") { $0.parameters(parameters) } }
                        }
                    }
                }
            }
        }
        if let failure { throw failure }
        return (writer.data, binary ? inputs.map { $0.data } : [])
    }
}
