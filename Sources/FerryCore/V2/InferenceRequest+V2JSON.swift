import Foundation

extension InferenceRequest {
    /// Decodes a v2 inference request body:
    /// `{"id"?, "parameters"?, "inputs": [{"name","shape","datatype","parameters"?,"data"}], "outputs"?: [{"name","parameters"?}]}`.
    public init(v2JSON body: Data) throws(FerryError) {
        try self.init(v2JSON: JSONParser.parse(body))
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
        var inputs: [Tensor] = []
        inputs.reserveCapacity(inputObjects.count)
        var offset = binary.startIndex
        for (index, object) in inputObjects.enumerated() {
            inputs.append(try Self.decodeInput(object, index: index, binary: binary, offset: &offset))
        }
        guard offset == binary.endIndex else {
            throw FerryError(
                .invalidArgument,
                "the request carries \(binary.endIndex - offset) bytes of binary data beyond what its inputs' binary_data_size declare"
            )
        }
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

    private static func decodeInput(_ object: JSONValue, index: Int, binary: Data, offset: inout Data.Index) throws(FerryError) -> Tensor {
        guard case .object = object else {
            throw FerryError(.invalidArgument, "input \(index) must be an object, not \(object.kindDescription)")
        }
        guard case .string(let name)? = object["name"] else {
            throw FerryError(.invalidArgument, "input \(index) has no 'name' string")
        }
        guard case .string(let typeName)? = object["datatype"] else {
            throw FerryError(.invalidArgument, "input '\(name)' has no 'datatype' string")
        }
        let datatype: DataType
        do {
            datatype = try DataType(v2Name: typeName)
        } catch {
            throw FerryError(.invalidArgument, "input '\(name)': \(error.message)")
        }
        let shape = try decodeShape(object["shape"], inputName: name)
        let parameters = try decodeParameters(object["parameters"], owner: "input '\(name)'")
        if let size = parameters["binary_data_size"] {
            guard let byteCount = size.intValue, byteCount >= 0 else {
                throw FerryError(.invalidArgument, "input '\(name)': binary_data_size must be a non-negative integer")
            }
            guard object["data"] == nil else {
                throw FerryError(.invalidArgument, "input '\(name)' has both 'data' and binary_data_size")
            }
            guard binary.endIndex - offset >= byteCount else {
                throw FerryError(
                    .invalidArgument,
                    "input '\(name)' declares binary_data_size \(byteCount), but only \(binary.endIndex - offset) bytes of binary data remain"
                )
            }
            let bytes = binary[offset..<offset + Int(byteCount)]
            offset += Int(byteCount)
            return Tensor(name: name, datatype: datatype, shape: shape, data: bytes)
        }
        guard let data = object["data"] else {
            throw FerryError(.invalidArgument, "input '\(name)' has no 'data' (and no binary_data_size)")
        }
        let bytes = try TensorJSONCoding.decode(data, datatype: datatype, shape: shape, tensorName: name)
        return Tensor(name: name, datatype: datatype, shape: shape, data: bytes)
    }

    private static func decodeShape(_ value: JSONValue?, inputName: String) throws(FerryError) -> TensorShape {
        let problem = FerryError(.invalidArgument, "input '\(inputName)': 'shape' must be an array of non-negative integers")
        guard case .array(let elements)? = value else { throw problem }
        var dimensions: [Int] = []
        for element in elements {
            guard case .number(let literal) = element, let dimension = Int(literal), dimension >= 0 else { throw problem }
            dimensions.append(dimension)
        }
        return TensorShape(dimensions)
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
