import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension InferenceRequest {
    /// Decodes a v2 inference request body:
    /// `{"id"?, "parameters"?, "inputs": [{"name","shape","datatype","parameters"?,"data"}], "outputs"?: [{"name","parameters"?}]}`.
    public init(v2JSON body: Data) throws(FerryError) {
        try self.init(v2JSON: JSONParser.parse(body, deferringArraysOf: "data", readingInPlace: TensorJSONCoding.readInPlace))
    }

    /// Decodes a request whose JSON header may be followed by binary tensor data
    /// (Triton's binary tensor extension): an input with parameter
    /// `binary_data_size` takes that many bytes of `binary`, in input order,
    /// without copying them.
    public init(v2JSON document: JSONValue, binary: Data = Data()) throws(FerryError) {
        guard case .object = document else {
            throw FerryError(.invalidArgument, "the request body must be a JSON object, not \(document.kindDescription)")
        }
        guard let inputsValue = document["inputs"] else {
            throw FerryError(.invalidArgument, "the request has no 'inputs' array")
        }
        guard case .array(let inputObjects) = inputsValue else {
            throw FerryError(.invalidArgument, "'inputs' must be an array, not \(inputsValue.kindDescription)")
        }
        var decoder = V2TensorDecoder(binary: binary, role: "input")
        var inputs: [Tensor] = []
        inputs.reserveCapacity(inputObjects.count)
        for (index, object) in inputObjects.enumerated() {
            inputs.append(try decoder.decode(object, index: index))
        }
        try decoder.finish(owner: "the request")
        var outputs: [RequestedOutput] = []
        if let outputsValue = document["outputs"] {
            guard case .array(let outputObjects) = outputsValue else {
                throw FerryError(.invalidArgument, "'outputs' must be an array, not \(outputsValue.kindDescription)")
            }
            for (index, object) in outputObjects.enumerated() {
                guard case .string(let name)? = object["name"] else {
                    throw FerryError(.invalidArgument, "output \(index) in 'outputs' has no 'name' string")
                }
                outputs.append(
                    RequestedOutput(name: name, parameters: try Self.decodeParameters(object["parameters"], owner: "output '\(name)'")))
            }
        }
        let id: String?
        switch document["id"] {
        case nil, .null?: id = nil
        case .string(let text)?: id = text
        case let other?: throw FerryError(.invalidArgument, "'id' must be a string, not \(other.kindDescription)")
        }
        self.init(
            id: id,
            inputs: inputs,
            outputs: outputs,
            parameters: try Self.decodeParameters(document["parameters"], owner: "the request")
        )
    }

    static func decodeShape(_ value: JSONValue?, role: String, tensorName: String) throws(FerryError) -> TensorShape {
        let problem = FerryError(.invalidArgument, "\(role) '\(tensorName)': 'shape' must be an array of non-negative integers")
        guard case .array(let elements)? = value else { throw problem }
        var dimensions: [Int] = []
        for element in elements {
            guard case .number(let literal) = element, let dimension = Int(literal) else { throw problem }
            dimensions.append(dimension)
        }
        return try TensorHeader.shape(dimensions, role: role, tensor: tensorName)
    }

    static func decodeParameters(_ value: JSONValue?, owner: String) throws(FerryError) -> InferenceParameters {
        guard let value, value != .null else { return [:] }
        guard case .object(let members) = value else {
            throw FerryError(.invalidArgument, "'parameters' of \(owner) must be an object, not \(value.kindDescription)")
        }
        var parameters: InferenceParameters = [:]
        for (key, member) in members {
            switch member {
            case .bool(let flag): parameters[key] = .bool(flag)
            case .string(let text): parameters[key] = .string(text)
            case .number(let literal):
                if let integer = Int64(literal) {
                    parameters[key] = .int(integer)
                } else if let number = Double(literal) {
                    parameters[key] = .double(number)
                }
            default:
                throw FerryError(
                    .invalidArgument,
                    "parameter '\(key)' of \(owner) must be a boolean, number or string, not \(member.kindDescription)"
                )
            }
        }
        return parameters
    }
}
