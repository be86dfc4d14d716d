import CONNXRuntime
import FerryCore

/// Reading a session's inputs, outputs and metadata.
extension ONNXRuntime {
    enum Direction { case input, output }

    func readSpecs(_ session: OpaquePointer, _ direction: Direction, model: String) throws(FerryError) -> [TensorSpec] {
        do throws(ONNXRuntimeFailure) {
            var count = 0
            switch direction {
            case .input: try check(api.pointee.SessionGetInputCount!(session, &count), "SessionGetInputCount")
            case .output: try check(api.pointee.SessionGetOutputCount!(session, &count), "SessionGetOutputCount")
            }
            var specs: [TensorSpec] = []
            for index in 0..<count {
                var namePointer: UnsafeMutablePointer<CChar>?
                var typeInfo: OpaquePointer?
                switch direction {
                case .input:
                    try check(api.pointee.SessionGetInputName!(session, index, allocator, &namePointer), "SessionGetInputName")
                case .output:
                    try check(api.pointee.SessionGetOutputName!(session, index, allocator, &namePointer), "SessionGetOutputName")
                }
                let name = takeString(namePointer)
                switch direction {
                case .input:
                    try check(api.pointee.SessionGetInputTypeInfo!(session, index, &typeInfo), "SessionGetInputTypeInfo")
                case .output:
                    try check(api.pointee.SessionGetOutputTypeInfo!(session, index, &typeInfo), "SessionGetOutputTypeInfo")
                }
                defer { api.pointee.ReleaseTypeInfo!(typeInfo) }
                specs.append(try spec(name: name, typeInfo: typeInfo!, direction: direction, model: model))
            }
            return specs
        } catch {
            throw FerryError(.failedPrecondition, "model '\(model)': cannot read its signature: \(error.message)", backendCode: error.code)
        }
    }

    private func spec(name: String, typeInfo: OpaquePointer, direction: Direction, model: String) throws(ONNXRuntimeFailure) -> TensorSpec {
        var onnxType = ONNX_TYPE_UNKNOWN
        try check(api.pointee.GetOnnxTypeFromTypeInfo!(typeInfo, &onnxType), "GetOnnxTypeFromTypeInfo")
        guard onnxType == ONNX_TYPE_TENSOR else {
            let description = try describe(typeInfo)
            guard direction == .output else {
                throw ONNXRuntimeFailure(
                    operation: "signature",
                    code: 9,
                    message: "input '\(name)' is \(description); Ferry feeds only tensors"
                )
            }
            // Non-tensor outputs (ZipMap's seq(map)) travel as BYTES, one JSON document per element.
            return TensorSpec(name: name, datatype: .bytes, shape: [-1], backendType: description)
        }
        var tensorInfo: OpaquePointer?
        try check(api.pointee.CastTypeInfoToTensorInfo!(typeInfo, &tensorInfo), "CastTypeInfoToTensorInfo")
        let (elementType, dimensions, names) = try tensorShape(tensorInfo!)
        guard let datatype = ElementType.dataType(elementType) else {
            throw ONNXRuntimeFailure(
                operation: "signature",
                code: 9,
                message:
                    "\(direction == .input ? "input" : "output") '\(name)' has element type \(ElementType.onnxName(elementType)), which the Open Inference Protocol cannot carry"
            )
        }
        return TensorSpec(name: name, datatype: datatype, shape: TensorShape(dimensions), dimensionNames: names)
    }

    private func tensorShape(_ info: OpaquePointer) throws(ONNXRuntimeFailure) -> (ONNXTensorElementDataType, [Int], [String?]) {
        var elementType = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED
        try check(api.pointee.GetTensorElementType!(info, &elementType), "GetTensorElementType")
        var rank = 0
        try check(api.pointee.GetDimensionsCount!(info, &rank), "GetDimensionsCount")
        var dimensions = [Int64](repeating: 0, count: rank)
        try check(api.pointee.GetDimensions!(info, &dimensions, rank), "GetDimensions")
        var symbolic = [UnsafePointer<CChar>?](repeating: nil, count: rank)
        try check(api.pointee.GetSymbolicDimensions!(info, &symbolic, rank), "GetSymbolicDimensions")
        let names = symbolic.map { pointer -> String? in
            guard let pointer, pointer.pointee != 0 else { return nil }
            return String(cString: pointer)
        }
        return (elementType, dimensions.map { $0 < 0 ? -1 : Int($0) }, names)
    }

    /// Describes a type the way ONNX writes it: `seq(map(int64,tensor(float)))`.
    private func describe(_ typeInfo: OpaquePointer) throws(ONNXRuntimeFailure) -> String {
        var onnxType = ONNX_TYPE_UNKNOWN
        try check(api.pointee.GetOnnxTypeFromTypeInfo!(typeInfo, &onnxType), "GetOnnxTypeFromTypeInfo")
        switch onnxType {
        case ONNX_TYPE_TENSOR:
            var tensorInfo: OpaquePointer?
            try check(api.pointee.CastTypeInfoToTensorInfo!(typeInfo, &tensorInfo), "CastTypeInfoToTensorInfo")
            var elementType = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED
            try check(api.pointee.GetTensorElementType!(tensorInfo, &elementType), "GetTensorElementType")
            return "tensor(\(ElementType.onnxName(elementType)))"
        case ONNX_TYPE_SEQUENCE:
            var sequenceInfo: OpaquePointer?
            try check(api.pointee.CastTypeInfoToSequenceTypeInfo!(typeInfo, &sequenceInfo), "CastTypeInfoToSequenceTypeInfo")
            var elementInfo: OpaquePointer?
            try check(api.pointee.GetSequenceElementType!(sequenceInfo, &elementInfo), "GetSequenceElementType")
            defer { api.pointee.ReleaseTypeInfo!(elementInfo) }
            return "seq(\(try describe(elementInfo!)))"
        case ONNX_TYPE_MAP:
            var mapInfo: OpaquePointer?
            try check(api.pointee.CastTypeInfoToMapTypeInfo!(typeInfo, &mapInfo), "CastTypeInfoToMapTypeInfo")
            var keyType = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED
            try check(api.pointee.GetMapKeyType!(mapInfo, &keyType), "GetMapKeyType")
            var valueInfo: OpaquePointer?
            try check(api.pointee.GetMapValueType!(mapInfo, &valueInfo), "GetMapValueType")
            defer { api.pointee.ReleaseTypeInfo!(valueInfo) }
            return "map(\(ElementType.onnxName(keyType)),\(try describe(valueInfo!)))"
        case ONNX_TYPE_OPTIONAL: return "optional"
        case ONNX_TYPE_SPARSETENSOR: return "sparse_tensor"
        case ONNX_TYPE_OPAQUE: return "opaque"
        default: return "unknown"
        }
    }

    func readMetadata(_ session: OpaquePointer, model: String) throws(FerryError) -> ModelMetadata {
        do throws(ONNXRuntimeFailure) {
            var handle: OpaquePointer?
            try check(api.pointee.SessionGetModelMetadata!(session, &handle), "SessionGetModelMetadata")
            defer { api.pointee.ReleaseModelMetadata!(handle) }
            typealias Getter =
                @convention(c) (
                    OpaquePointer?, OpaquePointer?, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
                ) -> OpaquePointer?
            func read(_ getter: Getter?, _ name: String) throws(ONNXRuntimeFailure) -> String {
                var value: UnsafeMutablePointer<CChar>?
                try check(getter!(handle, allocator, &value), name)
                return takeString(value)
            }
            var metadata = ModelMetadata()
            metadata.producerName = try read(api.pointee.ModelMetadataGetProducerName, "ModelMetadataGetProducerName")
            metadata.graphName = try read(api.pointee.ModelMetadataGetGraphName, "ModelMetadataGetGraphName")
            metadata.domain = try read(api.pointee.ModelMetadataGetDomain, "ModelMetadataGetDomain")
            metadata.description = try read(api.pointee.ModelMetadataGetDescription, "ModelMetadataGetDescription")
            metadata.graphDescription = try read(
                api.pointee.ModelMetadataGetGraphDescription,
                "ModelMetadataGetGraphDescription"
            )
            var version: Int64 = 0
            try check(api.pointee.ModelMetadataGetVersion!(handle, &version), "ModelMetadataGetVersion")
            // ONNX Runtime reports INT64_MAX when the model sets no version.
            metadata.version = version == Int64.max ? nil : version

            var keys: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
            var keyCount: Int64 = 0
            try check(
                api.pointee.ModelMetadataGetCustomMetadataMapKeys!(handle, allocator, &keys, &keyCount),
                "ModelMetadataGetCustomMetadataMapKeys"
            )
            // Take every key (freeing each) before any lookup can throw.
            var customKeys: [String] = []
            if let keys {
                customKeys = (0..<Int(keyCount)).map { takeString(keys[$0]) }
                _ = api.pointee.AllocatorFree!(allocator, keys)
            }
            for key in customKeys {
                var value: UnsafeMutablePointer<CChar>?
                try check(
                    api.pointee.ModelMetadataLookupCustomMetadataMap!(handle, allocator, key, &value),
                    "ModelMetadataLookupCustomMetadataMap"
                )
                metadata.custom[key] = takeString(value)
            }
            return metadata
        } catch {
            throw FerryError(.failedPrecondition, "model '\(model)': cannot read its metadata: \(error.message)", backendCode: error.code)
        }
    }
}
