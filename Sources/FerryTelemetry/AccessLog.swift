import FerryCore
import Logging
import Synchronization

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

/// One structured line per request, under the logger `ferry.access`.
/// `--no-access-log` turns it off.
///
/// When Ferry logs JSON (in containers) the line is written here in one pass,
/// in the same shape as every other JSON log line (`time`, `level`, `logger`,
/// `message`, then the fields in name order), and lines leave in batches: at
/// 32 KB, or every 200 ms. swift-log's metadata dictionaries, merged and
/// sorted per line, and a write(2) per line on the event loop made the access
/// log a quarter of the gRPC fast path's cost at concurrency 16 (perf: 12% of
/// the server's samples). A `kill -9` can lose the last 200 ms of lines;
/// `flush()` runs at shutdown. On a terminal it goes through the logger as text.
public struct AccessLog: Sendable {
    public let enabled: Bool
    private let json: Bool
    private let logger: Logger
    private let sink: LineSink?

    public init(enabled: Bool, json: Bool = false, logger: Logger = Logger(label: "ferry.access")) {
        self.enabled = enabled
        self.json = json
        self.logger = logger
        sink = enabled && json ? LineSink() : nil
    }

    /// Writes out the lines waiting in the batch.
    public func flush() { sink?.flush() }

    public func write(_ record: AccessRecord) {
        guard enabled else { return }
        let elapsed = ContinuousClock.now - record.started
        let microseconds = Int(elapsed.components.seconds) * 1_000_000 + Int(elapsed.components.attoseconds / 1_000_000_000_000)
        // Milliseconds with three decimals, written from the integer.
        let fraction = String(microseconds % 1000)
        let duration = "\(microseconds / 1000).\(String(repeating: "0", count: 3 - fraction.utf8.count))\(fraction)"
        if json {
            writeJSON(record, duration: duration)
            return
        }
        var metadata: Logger.Metadata = [
            "request_id": .string(record.requestID),
            "transport": .string(record.transport),
            "method": .string(record.method),
            "route": .string(record.route),
            "status": .stringConvertible(record.status),
            "duration_ms": .string(duration),
            "bytes_in": .stringConvertible(record.bytesIn),
            "bytes_out": .stringConvertible(record.bytesOut),
        ]
        if let model = record.model { metadata["model"] = .string(model) }
        if let version = record.version { metadata["version"] = .string(version) }
        if let credential = record.credential { metadata["credential"] = .string(credential) }
        if let client = record.client { metadata["client"] = .string(client) }
        logger.info("request", metadata: metadata)
    }

    private func writeJSON(_ record: AccessRecord, duration: String) {
        var writer = JSONWriter(reservingCapacity: 512)
        writer.object { line in
            line.member("time") { $0.string(utf8: UTCTimestamp.now()) }
            line.member("level") { $0.string("info") }
            line.member("logger") { $0.string("ferry.access") }
            line.member("message") { $0.string("request") }
            line.member("bytes_in") { $0.string(String(record.bytesIn)) }
            line.member("bytes_out") { $0.string(String(record.bytesOut)) }
            if let client = record.client { line.member("client") { $0.string(client) } }
            if let credential = record.credential { line.member("credential") { $0.string(credential) } }
            line.member("duration_ms") { $0.string(duration) }
            line.member("method") { $0.string(record.method) }
            if let model = record.model { line.member("model") { $0.string(model) } }
            line.member("request_id") { $0.string(record.requestID) }
            line.member("route") { $0.string(record.route) }
            line.member("status") { $0.string(String(record.status)) }
            line.member("transport") { $0.string(record.transport) }
            if let version = record.version { line.member("version") { $0.string(version) } }
        }
        var bytes = writer.bytes
        bytes.append(0x0A)
        sink?.append(bytes)
    }
}

/// Lines for standard error, written in batches.
final class LineSink: Sendable {
    static let batchBytes = 32 << 10

    private let waiting = Mutex<[UInt8]>([])

    init() {
        Task.detached { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(200))
                guard let self else { return }
                self.flush()
            }
        }
    }

    deinit { flush() }

    func append(_ line: [UInt8]) {
        let full = waiting.withLock { waiting -> [UInt8]? in
            waiting += line
            guard waiting.count >= Self.batchBytes else { return nil }
            defer { waiting.removeAll(keepingCapacity: true) }
            return waiting
        }
        if let full { StandardStreams.writeError(full) }
    }

    func flush() {
        let lines = waiting.withLock { waiting -> [UInt8] in
            defer { waiting.removeAll(keepingCapacity: true) }
            return waiting
        }
        if !lines.isEmpty { StandardStreams.writeError(lines) }
    }
}
