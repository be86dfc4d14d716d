import FerryCore
import FerryProtocol
import FerryServing
import GRPCCore
import SwiftProtobuf

/// TensorFlow Serving's `PredictionService` (Predict, GetModelMetadata) and
/// `ModelService` (GetModelStatus) over `InferenceServer`, on the same port
/// as v2: requests go through the same admission, batching and statistics.
public struct TFServingPredictionService: Tensorflow_Serving_PredictionService.SimpleServiceProtocol {
    let server: InferenceServer
    let maxRequestBytes: Int

    public init(server: InferenceServer, maxRequestBytes: Int = 64 << 20) {
        self.server = server
        self.maxRequestBytes = maxRequestBytes
    }

    public func predict(request: Tensorflow_Serving_PredictRequest, context: ServerContext) async throws
        -> Tensorflow_Serving_PredictResponse
    {
        try await mappingErrors {
            try checkPayload(TFServingTensorProto.payloadBytes(request), limit: maxRequestBytes)
            let spec = request.modelSpec
            try TFServingPredict.checkSignature(spec.signatureName, model: spec.name)
            let version = try server.version(of: spec)
            var inputs: [Tensor] = []
            for (name, proto) in request.inputs.sorted(by: { $0.key < $1.key }) {
                inputs.append(try TFServingTensorProto.tensor(proto, name: name))
            }
            let outputs = request.outputFilter.map { InferenceRequest.RequestedOutput(name: $0) }
            let result = try await server.infer(InferenceRequest(inputs: inputs, outputs: outputs), model: spec.name, version: version)
            var response = Tensorflow_Serving_PredictResponse()
            response.modelSpec = TFServingMetadata.modelSpec(name: spec.name, version: result.modelVersion ?? "")
            response.modelSpec.signatureName = TFServingPredict.signatureName
            for output in result.outputs {
                response.outputs[output.name] = try TFServingTensorProto.proto(output)
            }
            return response
        }
    }

    public func getModelMetadata(request: Tensorflow_Serving_GetModelMetadataRequest, context: ServerContext) async throws
        -> Tensorflow_Serving_GetModelMetadataResponse
    {
        try mappingErrors {
            let fields = Set(request.metadataField)
            guard !fields.isEmpty else {
                throw FerryError(.invalidArgument, "metadata_field is empty; ask for \"\(TFServingMetadata.field)\"")
            }
            guard fields == [TFServingMetadata.field] else {
                let other = fields.subtracting([TFServingMetadata.field]).sorted().joined(separator: ", ")
                throw FerryError(.invalidArgument, "metadata_field asks for \(other); the only metadata is \"\(TFServingMetadata.field)\"")
            }
            let spec = request.modelSpec
            let model = try server.modelMetadata(spec.name, version: try server.version(of: spec))
            return try TFServingMetadata.message(name: spec.name, version: model.servingVersion, signature: model.signature)
        }
    }
}

public struct TFServingModelService: Tensorflow_Serving_ModelService.SimpleServiceProtocol {
    let server: InferenceServer

    public init(server: InferenceServer) {
        self.server = server
    }

    public func getModelStatus(request: Tensorflow_Serving_GetModelStatusRequest, context: ServerContext) async throws
        -> Tensorflow_Serving_GetModelStatusResponse
    {
        try await mappingErrors {
            let spec = request.modelSpec
            return TFServingModelStatus.message(try await server.versionStates(spec.name, version: try server.version(of: spec)))
        }
    }
}

extension InferenceServer {
    /// The version a ModelSpec asks for: a number, a label, or neither (the newest).
    fileprivate func version(of spec: Tensorflow_Serving_ModelSpec) throws(FerryError) -> String? {
        switch spec.versionChoice {
        case .version(let number)?: String(number.value)
        case .versionLabel(let label)?: try version(labeled: label, model: spec.name)
        case nil: nil
        }
    }
}
