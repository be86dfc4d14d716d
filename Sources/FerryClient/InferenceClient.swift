import FerryCore

/// A client of an Open Inference Protocol (KServe v2) server — Ferry, Triton,
/// KServe, MLServer — over HTTP/REST or gRPC.
public protocol InferenceClient: Sendable {
    func isServerLive() async throws(FerryError) -> Bool
    func isServerReady() async throws(FerryError) -> Bool
    func isModelReady(_ model: String, version: String?) async throws(FerryError) -> Bool
    func serverMetadata() async throws(FerryError) -> ServerMetadata
    func modelMetadata(_ model: String, version: String?) async throws(FerryError) -> RemoteModelMetadata
    func infer(_ request: InferenceRequest, model: String, version: String?) async throws(FerryError) -> InferenceResponse
    /// Encodes `request` once and returns a call that sends it: what a load
    /// generator repeats, so its own encoding is not measured with the server.
    func preparedInfer(
        _ request: InferenceRequest, model: String, version: String?
    ) throws(FerryError) -> @Sendable () async throws(FerryError) -> InferenceResponse
    /// The server's cumulative statistics of a model, summed over its versions.
    func modelStatistics(_ model: String, version: String?) async throws(FerryError) -> RemoteModelStatistics
    /// Closes connections; the client cannot be used afterwards.
    func close() async
}

extension InferenceClient {
    public func preparedInfer(
        _ request: InferenceRequest, model: String, version: String?
    ) throws(FerryError) -> @Sendable () async throws(FerryError) -> InferenceResponse {
        { () async throws(FerryError) -> InferenceResponse in try await infer(request, model: model, version: version) }
    }
}

public struct ServerMetadata: Sendable, Hashable {
    public var name: String
    public var version: String
    public var extensions: [String]
}

/// Cumulative counters from Triton's statistics extension.
public struct RemoteModelStatistics: Sendable, Hashable {
    public var successCount: UInt64 = 0
    public var failureCount: UInt64 = 0
    public var inferenceCount: UInt64 = 0
    public var executionCount: UInt64 = 0
    /// Total nanoseconds requests waited in the queue.
    public var queueNanoseconds: UInt64 = 0
    /// Total nanoseconds of compute (input + infer + output) attributed to requests.
    public var computeNanoseconds: UInt64 = 0

    public init() {}

    /// What happened between two readings.
    public func since(_ earlier: RemoteModelStatistics) -> RemoteModelStatistics {
        var delta = RemoteModelStatistics()
        delta.successCount = successCount &- earlier.successCount
        delta.failureCount = failureCount &- earlier.failureCount
        delta.inferenceCount = inferenceCount &- earlier.inferenceCount
        delta.executionCount = executionCount &- earlier.executionCount
        delta.queueNanoseconds = queueNanoseconds &- earlier.queueNanoseconds
        delta.computeNanoseconds = computeNanoseconds &- earlier.computeNanoseconds
        return delta
    }
}

public struct RemoteModelMetadata: Sendable, Hashable {
    public var name: String
    public var versions: [String]
    public var platform: String
    public var inputs: [TensorSpec]
    public var outputs: [TensorSpec]
}

/// Connects to a server by URL: `http://` or `https://host:port`, `grpc://`
/// or `grpcs://host:port` (gRPC over TLS).
public enum FerryClient {
    /// - Parameters:
    ///   - binary: over HTTP, send and receive tensor data with the binary
    ///     tensor extension instead of JSON.
    ///   - maxConnections: over HTTP, how many requests may be in flight at
    ///     once (one connection each); gRPC multiplexes one connection.
    ///   - security: the bearer token, and whom to trust over TLS.
    public static func connect(
        to url: String, binary: Bool = false, maxConnections: Int = 64, security: ClientSecurity = ClientSecurity()
    ) throws(FerryError) -> any InferenceClient {
        if url.hasPrefix("http://") || url.hasPrefix("https://") {
            return try HTTPInferenceClient(
                baseURL: String(url.dropLast(url.hasSuffix("/") ? 1 : 0)), binary: binary, maxConnections: maxConnections,
                security: security)
        }
        for scheme in ["grpc://", "grpcs://"] where url.hasPrefix(scheme) {
            let address = url.dropFirst(scheme.count).split(separator: "/").first.map(String.init) ?? ""
            let parts = address.split(separator: ":")
            guard parts.count == 2, let port = Int(parts[1]), (1...65535).contains(port) else {
                throw FerryError(.invalidArgument, "a gRPC URL is \(scheme)HOST:PORT, not \(url)")
            }
            return try GRPCInferenceClient(host: String(parts[0]), port: port, tls: scheme == "grpcs://", security: security)
        }
        throw FerryError(.invalidArgument, "the server URL must start with http://, https://, grpc:// or grpcs:// (got \(url))")
    }
}
