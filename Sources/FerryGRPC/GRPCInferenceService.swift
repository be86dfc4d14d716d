import FerryCore
import FerryProtocol
import FerryServing
import GRPCCore
import ServiceLifecycle

/// `inference.GRPCInferenceService` over `InferenceServer`: each method
/// translates messages and errors, nothing more.
public struct GRPCInferenceService: Inference_GRPCInferenceService.SimpleServiceProtocol {
    let server: InferenceServer
    let maxRequestBytes: Int

    public init(server: InferenceServer, maxRequestBytes: Int = 64 << 20) {
        self.server = server
        self.maxRequestBytes = maxRequestBytes
    }

    public func serverLive(request: Inference_ServerLiveRequest, context: ServerContext) async throws -> Inference_ServerLiveResponse {
        var response = Inference_ServerLiveResponse()
        response.live = server.isLive
        return response
    }

    public func serverReady(request: Inference_ServerReadyRequest, context: ServerContext) async throws -> Inference_ServerReadyResponse {
        var response = Inference_ServerReadyResponse()
        response.ready = await server.isReady()
        return response
    }

    public func modelReady(request: Inference_ModelReadyRequest, context: ServerContext) async throws -> Inference_ModelReadyResponse {
        try mappingErrors {
            var response = Inference_ModelReadyResponse()
            response.ready = try server.modelReadiness(request.name, version: request.version)
            return response
        }
    }

    public func serverMetadata(
        request: Inference_ServerMetadataRequest,
        context: ServerContext
    ) async throws -> Inference_ServerMetadataResponse {
        var response = Inference_ServerMetadataResponse()
        response.name = InferenceServer.name
        response.version = InferenceServer.version
        response.extensions = InferenceServer.extensions
        return response
    }

    public func modelMetadata(
        request: Inference_ModelMetadataRequest,
        context: ServerContext
    ) async throws -> Inference_ModelMetadataResponse {
        await server.loadOnDemand(request.name)
        return try mappingErrors {
            let model = try server.modelMetadata(request.name, version: request.version)
            var response = Inference_ModelMetadataResponse()
            response.name = model.name
            response.versions = model.versions
            response.platform = model.platform
            response.inputs = model.inputs.map(Self.tensorMetadata)
            response.outputs = model.outputs.map(Self.tensorMetadata)
            return response
        }
    }

    public func modelInfer(request: Inference_ModelInferRequest, context: ServerContext) async throws -> Inference_ModelInferResponse {
        try await mappingErrors {
            try checkSize(request)
            let inference = try GRPCTensorCoding.request(request)
            let response = try await server.infer(inference, model: request.modelName, version: request.modelVersion)
            return GRPCTensorCoding.response(response)
        }
    }

    /// Bidirectional streaming: each request is answered on the stream; a
    /// failing request gets a response with `error_message`, and the stream
    /// goes on.
    public func modelStreamInfer(
        request: RPCAsyncSequence<Inference_ModelInferRequest, any Error>,
        response: RPCWriter<Inference_ModelStreamInferResponse>,
        context: ServerContext
    ) async throws {
        // An idle stream must not hold a graceful shutdown until the drain timeout:
        // stop reading new requests once shutdown starts (the current one finishes).
        // Messages the client sent that were not read then are never run, and
        // ending with OK would hide that: the stream ends UNAVAILABLE instead,
        // so the client knows to send them again (to another replica).
        for try await message in request.cancelOnGracefulShutdown() {
            var reply = Inference_ModelStreamInferResponse()
            do throws(FerryError) {
                try checkSize(message)
                let inference = try GRPCTensorCoding.request(message)
                let result = try await server.infer(inference, model: message.modelName, version: message.modelVersion)
                reply.inferResponse = GRPCTensorCoding.response(result)
            } catch {
                reply.errorMessage = error.message
                reply.inferResponse.id = message.id
                reply.inferResponse.modelName = message.modelName
                reply.inferResponse.modelVersion = message.modelVersion
            }
            try await response.write(reply)
        }
        if Task.isShuttingDownGracefully {
            throw RPCError(
                code: .unavailable,
                message: "the server is shutting down: requests sent on this stream after the last answer were not run; send them again")
        }
    }

    public func modelConfig(request: Inference_ModelConfigRequest, context: ServerContext) async throws -> Inference_ModelConfigResponse {
        await server.loadOnDemand(request.name)
        return try mappingErrors {
            var response = Inference_ModelConfigResponse()
            response.config = try server.modelConfiguration(request.name, version: request.version).message
            return response
        }
    }

    public func modelStatistics(
        request: Inference_ModelStatisticsRequest,
        context: ServerContext
    ) async throws -> Inference_ModelStatisticsResponse {
        try mappingErrors {
            var response = Inference_ModelStatisticsResponse()
            response.modelStats = try server.statistics(model: request.name, version: request.version).map(Self.statistics)
            return response
        }
    }

    public func repositoryIndex(
        request: Inference_RepositoryIndexRequest,
        context: ServerContext
    ) async throws -> Inference_RepositoryIndexResponse {
        var response = Inference_RepositoryIndexResponse()
        response.models = await server.repositoryIndex(readyOnly: request.ready).map { entry in
            var model = Inference_RepositoryIndexResponse.ModelIndex()
            model.name = entry.name
            model.version = entry.version ?? ""
            model.state = entry.state?.rawValue ?? ""
            model.reason = entry.reason
            return model
        }
        return response
    }

    public func repositoryModelLoad(
        request: Inference_RepositoryModelLoadRequest,
        context: ServerContext
    ) async throws -> Inference_RepositoryModelLoadResponse {
        try await mappingErrors {
            try await server.loadModel(request.modelName, parameterNames: Array(request.parameters.keys))
            return Inference_RepositoryModelLoadResponse()
        }
    }

    public func repositoryModelUnload(
        request: Inference_RepositoryModelUnloadRequest,
        context: ServerContext
    ) async throws -> Inference_RepositoryModelUnloadResponse {
        try await mappingErrors {
            try await server.unloadModel(request.modelName)
            return Inference_RepositoryModelUnloadResponse()
        }
    }

    /// The transport's own size limit resets the stream (clients see
    /// CANCELLED), so the transport is given headroom and the limit is
    /// enforced here, answered as RESOURCE_EXHAUSTED like Triton does.
    private func checkSize(_ request: Inference_ModelInferRequest) throws(FerryError) {
        try checkPayload(GRPCTensorCoding.payloadBytes(request), limit: maxRequestBytes)
    }

    // MARK: Translation

    static func tensorMetadata(_ spec: TensorSpec) -> Inference_ModelMetadataResponse.TensorMetadata {
        var metadata = Inference_ModelMetadataResponse.TensorMetadata()
        metadata.name = spec.name
        metadata.datatype = spec.datatype.rawValue
        metadata.shape = spec.shape.dimensions.map { Int64($0) }
        return metadata
    }

    static func statistics(_ stats: ModelStatistics) -> Inference_ModelStatistics {
        func duration(_ value: StatisticDuration) -> Inference_StatisticDuration {
            var duration = Inference_StatisticDuration()
            duration.count = value.count
            duration.ns = value.nanoseconds
            return duration
        }
        var message = Inference_ModelStatistics()
        message.name = stats.name
        message.version = stats.version
        message.lastInference = stats.lastInference
        message.inferenceCount = stats.inferenceCount
        message.executionCount = stats.executionCount
        message.inferenceStats.success = duration(stats.success)
        message.inferenceStats.fail = duration(stats.fail)
        message.inferenceStats.queue = duration(stats.queue)
        message.inferenceStats.computeInput = duration(stats.computeInput)
        message.inferenceStats.computeInfer = duration(stats.computeInfer)
        message.inferenceStats.computeOutput = duration(stats.computeOutput)
        message.inferenceStats.cacheHit = duration(StatisticDuration())
        message.inferenceStats.cacheMiss = duration(StatisticDuration())
        message.batchStats = stats.batches.map { batch in
            var message = Inference_InferBatchStatistics()
            message.batchSize = batch.batchSize
            message.computeInput = duration(batch.computeInput)
            message.computeInfer = duration(batch.computeInfer)
            message.computeOutput = duration(batch.computeOutput)
            return message
        }
        return message
    }
}

/// Refuses request tensors larger than `--max-request-bytes`, the same way for every gRPC service.
func checkPayload(_ size: Int, limit: Int) throws(FerryError) {
    guard size <= limit else {
        throw FerryError(
            .payloadTooLarge, "request tensors hold \(size) bytes, more than the server accepts (\(limit) bytes, --max-request-bytes)")
    }
}

/// Runs a handler, turning `FerryError` into the matching gRPC status with
/// the same message HTTP gives.
func mappingErrors<Value>(_ body: () throws -> Value) throws -> Value {
    do {
        return try body()
    } catch let error as FerryError {
        throw RPCError(error)
    }
}

func mappingErrors<Value>(_ body: () async throws -> Value) async throws -> Value {
    do {
        return try await body()
    } catch let error as FerryError {
        throw RPCError(error)
    }
}

extension RPCError {
    init(_ error: FerryError) {
        let code = Status.Code(rawValue: error.grpcStatusCode).flatMap(RPCError.Code.init) ?? .internalError
        self.init(code: code, message: error.message)
    }
}
