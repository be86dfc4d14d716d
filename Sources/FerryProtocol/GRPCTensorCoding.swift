import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `ModelInferRequest` ↔ `InferenceRequest` and `InferenceResponse` ↔
/// `ModelInferResponse`. Tensor data arrives either typed (`contents`) or as
/// little-endian bytes (`raw_input_contents`, one entry per input, BYTES in
/// the 4-byte-length-prefixed layout); raw bytes are used as they are.
public enum GRPCTensorCoding {
    public static func request(_ message: Inference_ModelInferRequest) throws(FerryError) -> InferenceRequest {
        let useRaw = !message.rawInputContents.isEmpty
        if useRaw, let typed = message.inputs.first(where: { $0.hasContents }) {
            throw FerryError(
                .invalidArgument,
                "input '\(typed.name)' has contents although the request uses raw_input_contents; send every input one way"
            )
        }
        if useRaw && message.rawInputContents.count != message.inputs.count {
            throw FerryError(
                .invalidArgument,
                "raw_input_contents has \(message.rawInputContents.count) entries, but the request has \(message.inputs.count) inputs"
            )
        }
        var inputs: [Tensor] = []
        inputs.reserveCapacity(message.inputs.count)
        for (index, input) in message.inputs.enumerated() {
            let datatype = try TensorHeader.datatype(input.datatype, role: "input", tensor: input.name)
            let shape = try TensorHeader.shape(input.shape, role: "input", tensor: input.name)
            let data =
                useRaw
                ? message.rawInputContents[index]
                : try typedData(input.contents, datatype: datatype, shape: shape, name: input.name)
            inputs.append(Tensor(name: input.name, datatype: datatype, shape: shape, data: data))
        }
        return InferenceRequest(
            id: message.id.isEmpty ? nil : message.id,
            inputs: inputs,
            outputs: message.outputs.map { .init(name: $0.name, parameters: parameters($0.parameters)) },
            parameters: parameters(message.parameters)
        )
    }

    /// The bytes of tensor data a request carries, raw or typed.
    public static func payloadBytes(_ message: Inference_ModelInferRequest) -> Int {
        var total = message.rawInputContents.reduce(0) { $0 + $1.count }
        for input in message.inputs {
            let contents = input.contents
            total += contents.boolContents.count + contents.intContents.count * 4 + contents.int64Contents.count * 8
            total += contents.uintContents.count * 4 + contents.uint64Contents.count * 8
            total += contents.fp32Contents.count * 4 + contents.fp64Contents.count * 8
            total += contents.bytesContents.reduce(0) { $0 + $1.count }
        }
        return total
    }

    public static func response(_ response: InferenceResponse) -> Inference_ModelInferResponse {
        var message = Inference_ModelInferResponse()
        message.modelName = response.modelName
        message.modelVersion = response.modelVersion ?? ""
        message.id = response.id ?? ""
        message.outputs = response.outputs.map { tensor in
            var output = Inference_ModelInferResponse.InferOutputTensor()
            output.name = tensor.name
            output.datatype = tensor.datatype.rawValue
            output.shape = tensor.shape.dimensions.map { Int64($0) }
            return output
        }
        message.rawOutputContents = response.outputs.map { $0.data }
        return message
    }

    static func parameters(_ parameters: [String: Inference_InferParameter]) -> InferenceParameters {
        parameters.compactMapValues { parameter -> InferenceParameter? in
            switch parameter.parameterChoice {
            case .boolParam(let value)?: .bool(value)
            case .int64Param(let value)?: .int(value)
            case .uint64Param(let value)?: Int64(exactly: value).map(InferenceParameter.int) ?? .double(Double(value))
            case .doubleParam(let value)?: .double(value)
            case .stringParam(let value)?: .string(value)
            case nil: nil
            }
        }
    }

    /// Packs the typed `contents` field that the datatype uses.
    private static func typedData(
        _ contents: Inference_InferTensorContents,
        datatype: DataType,
        shape: TensorShape,
        name: String
    ) throws(FerryError) -> Data {
        let expected = shape.elementCount ?? 0  // TensorHeader.shape refused shapes without a count
        func checked<Source>(_ values: [Source], _ field: String) throws(FerryError) -> [Source] {
            guard values.count == expected else {
                throw FerryError(
                    .invalidArgument,
                    "input '\(name)': shape \(shape) has \(expected) elements, but contents.\(field) holds \(values.count)"
                )
            }
            return values
        }
        func narrow<Target: FixedWidthInteger & TensorElement, Source: BinaryInteger>(
            _ values: [Source],
            _ field: String,
            _ type: Target.Type
        ) throws(FerryError) -> Data {
            var result: [Target] = []
            result.reserveCapacity(values.count)
            for (index, value) in try checked(values, field).enumerated() {
                guard let narrowed = Target(exactly: value) else {
                    throw FerryError(
                        .invalidArgument,
                        "input '\(name)': element \(index) is \(value), out of range for \(datatype.rawValue)"
                    )
                }
                result.append(narrowed)
            }
            return result.withUnsafeBufferPointer { Data(buffer: $0) }
        }
        func pack<Element: TensorElement>(_ values: [Element]) -> Data { values.withUnsafeBufferPointer { Data(buffer: $0) } }

        switch datatype {
        case .bool: return pack(try checked(contents.boolContents, "bool_contents"))
        case .int8: return try narrow(contents.intContents, "int_contents", Int8.self)
        case .int16: return try narrow(contents.intContents, "int_contents", Int16.self)
        case .int32: return pack(try checked(contents.intContents, "int_contents"))
        case .int64: return pack(try checked(contents.int64Contents, "int64_contents"))
        case .uint8: return try narrow(contents.uintContents, "uint_contents", UInt8.self)
        case .uint16: return try narrow(contents.uintContents, "uint_contents", UInt16.self)
        case .uint32: return pack(try checked(contents.uintContents, "uint_contents"))
        case .uint64: return pack(try checked(contents.uint64Contents, "uint64_contents"))
        case .fp32: return pack(try checked(contents.fp32Contents, "fp32_contents"))
        case .fp64: return pack(try checked(contents.fp64Contents, "fp64_contents"))
        case .bytes: return BytesTensorCoding.encode(try checked(contents.bytesContents, "bytes_contents"))
        case .fp16, .bf16:
            throw FerryError(
                .invalidArgument,
                "input '\(name)' is \(datatype.rawValue), which has no typed contents field: send it in raw_input_contents"
            )
        }
    }
}

// MARK: The client's direction

extension GRPCTensorCoding {
    /// A `ModelInferRequest` with every input in `raw_input_contents`.
    public static func message(for request: InferenceRequest, model: String, version: String?) -> Inference_ModelInferRequest {
        var message = Inference_ModelInferRequest()
        message.modelName = model
        message.modelVersion = version ?? ""
        message.id = request.id ?? ""
        message.parameters = request.parameters.mapValues(parameter)
        message.inputs = request.inputs.map { tensor in
            var input = Inference_ModelInferRequest.InferInputTensor()
            input.name = tensor.name
            input.datatype = tensor.datatype.rawValue
            input.shape = tensor.shape.dimensions.map { Int64($0) }
            return input
        }
        message.rawInputContents = request.inputs.map { $0.data }
        message.outputs = request.outputs.map { output in
            var requested = Inference_ModelInferRequest.InferRequestedOutputTensor()
            requested.name = output.name
            requested.parameters = output.parameters.mapValues(parameter)
            return requested
        }
        return message
    }

    /// The response's outputs, from `raw_output_contents` or typed contents.
    public static func response(from message: Inference_ModelInferResponse) throws(FerryError) -> InferenceResponse {
        let useRaw = !message.rawOutputContents.isEmpty
        guard !useRaw || message.rawOutputContents.count == message.outputs.count else {
            throw FerryError(
                .internal, "the response has \(message.outputs.count) outputs but \(message.rawOutputContents.count) raw_output_contents")
        }
        var outputs: [Tensor] = []
        for (index, output) in message.outputs.enumerated() {
            let datatype = try TensorHeader.datatype(output.datatype, role: "output", tensor: output.name)
            let shape = try TensorHeader.shape(output.shape, role: "output", tensor: output.name)
            let data =
                useRaw
                ? message.rawOutputContents[index] : try typedData(output.contents, datatype: datatype, shape: shape, name: output.name)
            outputs.append(Tensor(name: output.name, datatype: datatype, shape: shape, data: data))
        }
        return InferenceResponse(
            modelName: message.modelName,
            modelVersion: message.modelVersion.isEmpty ? nil : message.modelVersion,
            id: message.id.isEmpty ? nil : message.id,
            outputs: outputs,
            parameters: parameters(message.parameters)
        )
    }

    static func parameter(_ value: InferenceParameter) -> Inference_InferParameter {
        var parameter = Inference_InferParameter()
        switch value {
        case .bool(let flag): parameter.boolParam = flag
        case .int(let integer): parameter.int64Param = integer
        case .double(let number): parameter.doubleParam = number
        case .string(let text): parameter.stringParam = text
        }
        return parameter
    }
}
