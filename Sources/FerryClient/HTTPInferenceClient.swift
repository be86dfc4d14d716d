import AsyncHTTPClient
import FerryCore
import FerryProtocol
import NIOCore
import NIOHTTP1
import NIOSSL

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The v2 REST client. Errors come back with the server's message and the
/// code its HTTP status stands for.
public final class HTTPInferenceClient: InferenceClient {
    let baseURL: String
    let binary: Bool
    private let authorization: String?
    private let http: HTTPClient
    private static let headerLength = "Inference-Header-Content-Length"

    /// - Parameter maxConnections: HTTP/1 connections kept to the server, so
    ///   as many requests can be in flight at once (AsyncHTTPClient's own
    ///   default of 8 would silently queue the rest in the client).
    public init(baseURL: String, binary: Bool, maxConnections: Int = 64, security: ClientSecurity = ClientSecurity()) throws(FerryError) {
        self.baseURL = baseURL
        self.binary = binary
        authorization = security.authorization
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(1, maxConnections)
        if baseURL.hasPrefix("https://") {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.minimumTLSVersion = .tlsv12
            if let caFile = security.caFile { tls.trustRoots = .file(caFile) }
            if security.insecure { tls.certificateVerification = .none }
            if let certificate = security.certificateFile, let key = security.keyFile {
                do {
                    tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
                    tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
                } catch {
                    throw FerryError(.invalidArgument, "cannot read the client certificate \(certificate) or key \(key): \(error)")
                }
            }
            configuration.tlsConfiguration = tls
        }
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func isServerLive() async throws(FerryError) -> Bool { try await status("/v2/health/live") == 200 }
    public func isServerReady() async throws(FerryError) -> Bool { try await status("/v2/health/ready") == 200 }

    public func isModelReady(_ model: String, version: String?) async throws(FerryError) -> Bool {
        try await status(modelPath(model, version) + "/ready") == 200
    }

    public func serverMetadata() async throws(FerryError) -> ServerMetadata {
        let json = try await getJSON("/v2")
        return ServerMetadata(
            name: json["name"]?.stringValue ?? "",
            version: json["version"]?.stringValue ?? "",
            extensions: json["extensions"]?.arrayValue?.compactMap { $0.stringValue } ?? []
        )
    }

    public func modelMetadata(_ model: String, version: String?) async throws(FerryError) -> RemoteModelMetadata {
        let json = try await getJSON(modelPath(model, version))
        return RemoteModelMetadata(
            name: json["name"]?.stringValue ?? model,
            versions: json["versions"]?.arrayValue?.compactMap { $0.stringValue } ?? [],
            platform: json["platform"]?.stringValue ?? "",
            inputs: try (json["inputs"]?.arrayValue ?? []).map(Self.tensorSpec),
            outputs: try (json["outputs"]?.arrayValue ?? []).map(Self.tensorSpec)
        )
    }

    public func infer(_ request: InferenceRequest, model: String, version: String?) async throws(FerryError) -> InferenceResponse {
        try await preparedInfer(request, model: model, version: version)()
    }

    public func preparedInfer(
        _ request: InferenceRequest, model: String, version: String?
    ) throws(FerryError) -> @Sendable () async throws(FerryError) -> InferenceResponse {
        let (header, chunks) = try request.v2Body(binary: binary)
        var body = ByteBuffer()
        body.reserveCapacity(header.count + chunks.reduce(0) { $0 + $1.count })
        body.writeBytes(header)
        for chunk in chunks { body.writeBytes(chunk) }
        var headers = HTTPHeaders([("Content-Type", binary ? "application/octet-stream" : "application/json")])
        if binary { headers.add(name: Self.headerLength, value: String(header.count)) }
        let path = modelPath(model, version) + "/infer"
        return { [body, headers] () async throws(FerryError) -> InferenceResponse in
            let (status, responseHeaders, bytes) = try await self.send(path, method: .POST, headers: headers, body: body)
            return try Self.response(status: status, headers: responseHeaders, bytes: bytes)
        }
    }

    private static func response(status: Int, headers responseHeaders: HTTPHeaders, bytes: [UInt8]) throws(FerryError) -> InferenceResponse {
        guard status == 200 else { throw Self.error(status: status, body: bytes) }
        let data = Data(bytes)
        if let value = responseHeaders.first(name: Self.headerLength), let length = Int(value), length <= data.count {
            return try InferenceResponse(v2JSON: try JSONParser.parse(data.prefix(length)), binary: data.dropFirst(length))
        }
        return try InferenceResponse(v2JSON: try JSONParser.parse(data))
    }

    public func modelStatistics(_ model: String, version: String?) async throws(FerryError) -> RemoteModelStatistics {
        let json = try await getJSON(modelPath(model, version) + "/stats")
        var total = RemoteModelStatistics()
        func number(_ value: JSONValue?) -> UInt64 {
            if case .number(let literal)? = value { return UInt64(literal) ?? 0 }
            return 0
        }
        for stats in json["model_stats"]?.arrayValue ?? [] {
            let inference = stats["inference_stats"]
            total.successCount += number(inference?["success"]?["count"])
            total.failureCount += number(inference?["fail"]?["count"])
            total.inferenceCount += number(stats["inference_count"])
            total.executionCount += number(stats["execution_count"])
            total.queueNanoseconds += number(inference?["queue"]?["ns"])
            for phase in ["compute_input", "compute_infer", "compute_output"] {
                total.computeNanoseconds += number(inference?[phase]?["ns"])
            }
        }
        return total
    }

    public func close() async {
        try? await http.shutdown()
    }

    // MARK: Transport

    private func modelPath(_ model: String, _ version: String?) -> String {
        let name = model.percentEncodedPathSegment
        guard let version, !version.isEmpty else { return "/v2/models/\(name)" }
        return "/v2/models/\(name)/versions/\(version)"
    }

    private func status(_ path: String) async throws(FerryError) -> Int {
        try await send(path, method: .GET).status
    }

    private func getJSON(_ path: String) async throws(FerryError) -> JSONValue {
        let (status, _, bytes) = try await send(path, method: .GET)
        guard status == 200 else { throw Self.error(status: status, body: bytes) }
        return try JSONParser.parse(Data(bytes))
    }

    private func send(
        _ path: String,
        method: HTTPMethod,
        headers: HTTPHeaders = [:],
        body: ByteBuffer? = nil
    ) async throws(FerryError) -> (status: Int, headers: HTTPHeaders, body: [UInt8]) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers = headers
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        if let body { request.body = .bytes(body) }
        do {
            let response = try await http.execute(request, timeout: .seconds(300))
            let buffer = try await response.body.collect(upTo: 1 << 30)
            return (Int(response.status.code), response.headers, Array(buffer.readableBytesView))
        } catch {
            throw FerryError(.unavailable, "cannot reach \(baseURL): \(error)")
        }
    }

    /// The server's `{"error": …}` message, with the code its status stands for.
    static func error(status: Int, body: [UInt8]) -> FerryError {
        let message = (try? JSONParser.parse(Data(body)))?["error"]?.stringValue ?? "HTTP status \(status)"
        let code: FerryError.Code =
            switch status {
            case 400: .invalidArgument
            case 401: .unauthenticated
            case 403: .permissionDenied
            case 404: .notFound
            case 409: .conflict
            case 429: .rateLimited
            case 413: .payloadTooLarge
            case 499: .cancelled
            case 503: .unavailable
            case 504: .deadlineExceeded
            default: .internal
            }
        return FerryError(code, message)
    }

    static func tensorSpec(_ json: JSONValue) throws(FerryError) -> TensorSpec {
        let shape = json["shape"]?.arrayValue?.compactMap { value -> Int? in
            if case .number(let literal) = value { return Int(literal) }
            return nil
        }
        return TensorSpec(
            name: json["name"]?.stringValue ?? "",
            datatype: try DataType(v2Name: json["datatype"]?.stringValue ?? ""),
            shape: TensorShape(shape ?? [])
        )
    }
}
