import Logging

/// What one access-log line says about a request, HTTP or gRPC. Filled in
/// as the request goes through the frontend's handlers, which share it.
public final class AccessRecord: @unchecked Sendable {
    // One request's handlers fill it in turn, on its event loop or its task, never at once.
    public var requestID = ""
    /// "HTTP/1.1", "HTTP/2" or "gRPC".
    public var transport = ""
    /// The HTTP method, or "POST" for gRPC.
    public var method = ""
    /// The route template (`/v2/models/{model}/infer`) or gRPC method path;
    /// the raw path only when no route matched.
    public var route = ""
    public var model: String?
    public var version: String?
    /// The HTTP status, or the gRPC status code.
    public var status = 0
    public var bytesIn = 0
    public var bytesOut = 0
    /// The name of the credential that authenticated the request; never the key or token.
    public var credential: String?
    public var client: String?
    public var started = ContinuousClock.now
    /// The request's trace span, when traces are exported.
    public var span: RequestSpan?

    public init() {}
}

/// One structured line per request, under the logger `ferry.access` (JSON
/// fields when Ferry logs JSON). `--no-access-log` turns it off.
public struct AccessLog: Sendable {
    public let enabled: Bool
    private let logger: Logger

    public init(enabled: Bool, logger: Logger = Logger(label: "ferry.access")) {
        self.enabled = enabled
        self.logger = logger
    }

    public func write(_ record: AccessRecord) {
        guard enabled else { return }
        let elapsed = ContinuousClock.now - record.started
        let milliseconds = Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15
        var metadata: Logger.Metadata = [
            "request_id": .string(record.requestID),
            "transport": .string(record.transport),
            "method": .string(record.method),
            "route": .string(record.route),
            "status": .stringConvertible(record.status),
            "duration_ms": .string(String((milliseconds * 1000).rounded() / 1000)),
            "bytes_in": .stringConvertible(record.bytesIn),
            "bytes_out": .stringConvertible(record.bytesOut),
        ]
        if let model = record.model { metadata["model"] = .string(model) }
        if let version = record.version { metadata["version"] = .string(version) }
        if let credential = record.credential { metadata["credential"] = .string(credential) }
        if let client = record.client { metadata["client"] = .string(client) }
        logger.info("request", metadata: metadata)
    }
}
