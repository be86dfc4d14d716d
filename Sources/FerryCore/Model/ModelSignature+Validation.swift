extension ModelSignature {
    /// The input a request names, or the error every frontend gives when
    /// there is none (frontends that need the datatype to decode a value ask first).
    public func knownInput(_ name: String, modelName: String) throws(FerryError) -> TensorSpec {
        guard let spec = input(named: name) else {
            throw FerryError(.invalidArgument, "model '\(modelName)' has no input named '\(name)' (its inputs: \(Self.names(inputs)))")
        }
        return spec
    }

    /// Checks a request against this signature: every input known, present
    /// once, of the declared datatype, of a shape that fits, with exactly the
    /// bytes that shape needs; every requested output known and asked once.
    ///
    /// Returns the names of the outputs to compute, in response order.
    public func validate(_ request: InferenceRequest, modelName: String) throws(FerryError) -> [String] {
        // Models have few inputs: linear scans beat hashing here, and this runs on every request.
        for (position, tensor) in request.inputs.enumerated() {
            let spec = try knownInput(tensor.name, modelName: modelName)
            guard !request.inputs[..<position].contains(where: { $0.name == tensor.name }) else {
                throw FerryError(.invalidArgument, "input '\(tensor.name)' appears more than once in the request")
            }
            try Self.check(tensor, against: spec, modelName: modelName)
        }
        if request.inputs.count != inputs.count,
            let missing = inputs.first(where: { spec in !request.inputs.contains { $0.name == spec.name } })
        {
            throw FerryError(
                .invalidArgument,
                "model '\(modelName)' needs input '\(missing.name)', which the request does not provide"
            )
        }

        guard !request.outputs.isEmpty else { return outputs.map { $0.name } }
        for (position, output) in request.outputs.enumerated() {
            guard self.output(named: output.name) != nil else {
                throw FerryError(
                    .invalidArgument,
                    "model '\(modelName)' has no output named '\(output.name)' (its outputs: \(Self.names(outputs)))"
                )
            }
            guard !request.outputs[..<position].contains(where: { $0.name == output.name }) else {
                throw FerryError(.invalidArgument, "output '\(output.name)' is requested more than once")
            }
        }
        return request.outputs.map { $0.name }
    }

    private static func check(_ tensor: Tensor, against spec: TensorSpec, modelName: String) throws(FerryError) {
        // Built only on failure: string interpolation on the success path costs more than the checks.
        var what: String { "input '\(tensor.name)' of model '\(modelName)'" }
        guard tensor.datatype == spec.datatype else {
            throw FerryError(
                .invalidArgument,
                "\(what) has datatype \(spec.datatype.rawValue), but the request sends \(tensor.datatype.rawValue)"
            )
        }
        guard tensor.shape.fits(spec.shape) else {
            throw FerryError(
                .invalidArgument,
                "\(what) has shape \(spec.shapeDescription), which the request's shape \(tensor.shape) does not fit"
            )
        }
        guard let elements = tensor.shape.elementCount else {
            throw FerryError(.invalidArgument, "\(what): shape \(tensor.shape) has more elements than can be addressed")
        }
        if let size = spec.datatype.elementSize {
            let (expected, overflow) = elements.multipliedReportingOverflow(by: size)
            guard !overflow, tensor.data.count == expected else {
                throw FerryError(
                    .invalidArgument,
                    "\(what): shape \(tensor.shape) of \(spec.datatype.rawValue) needs \(expected) bytes, but the request holds \(tensor.data.count)"
                )
            }
        } else {
            let count = try BytesTensorCoding.count(tensor.data, tensorName: tensor.name)
            guard count == elements else {
                throw FerryError(
                    .invalidArgument,
                    "\(what): shape \(tensor.shape) has \(elements) elements, but the request holds \(count) BYTES elements"
                )
            }
        }
    }

    private static func names(_ specs: [TensorSpec]) -> String {
        specs.map { $0.name }.joined(separator: ", ")
    }
}
