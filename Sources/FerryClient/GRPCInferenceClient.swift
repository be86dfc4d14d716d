import FerryCore
import FerryProtocol
import GRPCCore
import GRPCNIOTransportHTTP2

/// The gRPC client (`inference.GRPCInferenceService`); tensors travel in
/// `raw_input_contents` / `raw_output_contents`.
public final class GRPCInferenceClient: InferenceClient {
    private let grpc: GRPCClient<HTTP2ClientTransport.Posix>
    private let service: Inference_GRPCInferenceService.Client<HTTP2ClientTransport.Posix>
    private let connections: Task<Void, Never>
    private let target: String
    /// Sent with every call: the bearer token.
    private let metadata: Metadata

    /// - Parameter tls: gRPC over TLS (`grpcs://`) instead of h2c.
    public init(host: String, port: Int, tls: Bool = false, security: ClientSecurity = ClientSecurity()) throws(FerryError) {
        target = "\(host):\(port)"
        var metadata = Metadata()
        if let authorization = security.authorization { metadata.addString(authorization, forKey: "authorization") }
        self.metadata = metadata
        do {
            let resolvable: any ResolvableTarget = host.contains(":") ? .ipv6(address: host, port: port) : .dns(host: host, port: port)
            var transportSecurity = HTTP2ClientTransport.Posix.TransportSecurity.plaintext
            if tls {
                transportSecurity = .tls { config in
                    if let caFile = security.caFile { config.trustRoots = .certificates([.file(path: caFile, format: .pem)]) }
                    if security.insecure { config.serverCertificateVerification = .noVerification }
                    if let certificate = security.certificateFile, let key = security.keyFile {
                        config.certificateChain = [.file(path: certificate, format: .pem)]
                        config.privateKey = .file(path: key, format: .pem)
                    }
                }
            }
            grpc = GRPCClient(transport: try .http2NIOPosix(target: resolvable, transportSecurity: transportSecurity))
        } catch {
            throw FerryError(.invalidArgument, "cannot set up a gRPC connection to \(host):\(port): \(error)")
        }
        service = Inference_GRPCInferenceService.Client(wrapping: grpc)
        connections = Task { [grpc] in try? await grpc.runConnections() }
    }

    public func isServerLive() async throws(FerryError) -> Bool {
        try await call { try await service.serverLive(Inference_ServerLiveRequest(), metadata: metadata).live }
    }

    public func isServerReady() async throws(FerryError) -> Bool {
        try await call { try await service.serverReady(Inference_ServerReadyRequest(), metadata: metadata).ready }
    }

    public func isModelReady(_ model: String, version: String?) async throws(FerryError) -> Bool {
        var request = Inference_ModelReadyRequest()
        request.name = model
        request.version = version ?? ""
        return try await call { try await service.modelReady(request, metadata: metadata).ready }
    }

    public func serverMetadata() async throws(FerryError) -> ServerMetadata {
        let response = try await call { try await service.serverMetadata(Inference_ServerMetadataRequest(), metadata: metadata) }
        return ServerMetadata(name: response.name, version: response.version, extensions: response.extensions)
    }

    public func modelMetadata(_ model: String, version: String?) async throws(FerryError) -> RemoteModelMetadata {
        var request = Inference_ModelMetadataRequest()
        request.name = model
        request.version = version ?? ""
        let response = try await call { try await service.modelMetadata(request, metadata: metadata) }
        func spec(_ tensor: Inference_ModelMetadataResponse.TensorMetadata) throws(FerryError) -> TensorSpec {
            TensorSpec(name: tensor.name, datatype: try DataType(v2Name: tensor.datatype), shape: TensorShape(tensor.shape.map { Int($0) }))
        }
        return RemoteModelMetadata(
            name: response.name,
            versions: response.versions,
            platform: response.platform,
            inputs: try response.inputs.map(spec),
            outputs: try response.outputs.map(spec)
        )
    }

    public func infer(_ request: InferenceRequest, model: String, version: String?) async throws(FerryError) -> InferenceResponse {
        let message = GRPCTensorCoding.message(for: request, model: model, version: version)
        let response = try await call { try await service.modelInfer(message, metadata: metadata) }
        return try GRPCTensorCoding.response(from: response)
    }

    public func modelStatistics(_ model: String, version: String?) async throws(FerryError) -> RemoteModelStatistics {
        var request = Inference_ModelStatisticsRequest()
        request.name = model
        request.version = version ?? ""
        let response = try await call { try await service.modelStatistics(request, metadata: metadata) }
        var total = RemoteModelStatistics()
        for stats in response.modelStats {
            total.successCount += stats.inferenceStats.success.count
            total.failureCount += stats.inferenceStats.fail.count
            total.inferenceCount += stats.inferenceCount
            total.executionCount += stats.executionCount
            total.queueNanoseconds += stats.inferenceStats.queue.ns
            total.computeNanoseconds +=
                stats.inferenceStats.computeInput.ns + stats.inferenceStats.computeInfer.ns + stats.inferenceStats.computeOutput.ns
        }
        return total
    }

    public func close() async {
        grpc.beginGracefulShutdown()
        await connections.value
    }

    /// Runs an RPC, turning its status into the matching `FerryError`.
    private func call<Value: Sendable>(_ body: () async throws -> Value) async throws(FerryError) -> Value {
        do {
            return try await body()
        } catch let error as RPCError {
            let code: FerryError.Code =
                switch error.code {
                case .invalidArgument: .invalidArgument
                case .notFound: .notFound
                case .unavailable: .unavailable
                case .resourceExhausted: .payloadTooLarge
                case .deadlineExceeded: .deadlineExceeded
                case .cancelled: .cancelled
                case .failedPrecondition: .failedPrecondition
                case .unauthenticated: .unauthenticated
                case .permissionDenied: .permissionDenied
                default: .internal
                }
            throw FerryError(code, error.message.isEmpty ? "gRPC \(error.code) from \(target)" : error.message)
        } catch {
            throw FerryError(.unavailable, "gRPC call to \(target) failed: \(error)")
        }
    }
}
