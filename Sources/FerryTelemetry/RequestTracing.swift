import AsyncHTTPClient
import FerryCore
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// OpenTelemetry traces of requests, sent to a collector over OTLP/HTTP with
/// JSON bodies (`--otel-endpoint`, spans to its `/v1/traces`). Each request
/// is a server span that continues the client's trace when it sends W3C
/// `traceparent` (and follows its sampling flag), and an inference gets child
/// spans for decode, queue, compute and encode.
///
/// Written here rather than with swift-otel: its configuration code calls full
/// Foundation (`CharacterSet`), which would bring ICU's 40 MB back into every
/// image. Spans wait in a bounded buffer (beyond it they are dropped and
/// counted) and go out in batches every second, or at once when 512 wait.
public final class RequestTracing: Service, Sendable {
    static let batchSize = 512
    static let bufferLimit = 8192

    private struct State {
        var spans: [FinishedSpan] = []
        var dropped = 0
    }

    public let endpoint: String
    private let serviceName: String
    private let serviceVersion: String
    private let client: HTTPClient
    private let logger: Logger
    private let state = Mutex(State())
    private let wake = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))

    /// - Parameter endpoint: the collector's base URL (`http://collector:4318`), or its full `/v1/traces` URL.
    public init(
        endpoint: String, serviceName: String = "ferry", serviceVersion: String, client: HTTPClient = .shared, logger: Logger
    ) throws(FerryError) {
        guard endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://") else {
            throw FerryError(.invalidArgument, "--otel-endpoint must be an http:// or https:// URL, not '\(endpoint)'")
        }
        self.endpoint = endpoint.hasSuffix("/v1/traces") ? endpoint : (endpoint.hasSuffix("/") ? endpoint : endpoint + "/") + "v1/traces"
        self.serviceName = serviceName
        self.serviceVersion = serviceVersion
        self.client = client
        self.logger = logger
    }

    /// A server span for a request, a child of the client's span when its `traceparent` is valid.
    public func start(_ name: String, traceparent: String?, tracestate: String?) -> RequestSpan {
        let parent = TraceContext(traceparent: traceparent, tracestate: tracestate)
        let context = TraceContext(
            traceID: parent?.traceID ?? RandomIdentifier.hex(bytes: 16), spanID: RandomIdentifier.hex(bytes: 8),
            sampled: parent?.sampled ?? true, traceState: parent?.traceState)
        return RequestSpan(tracing: self, name: name, context: context, parentID: parent?.spanID)
    }

    func finished(_ span: FinishedSpan) {
        let full = state.withLock { state -> Bool in
            guard state.spans.count < Self.bufferLimit else {
                state.dropped += 1
                return false
            }
            state.spans.append(span)
            return state.spans.count >= Self.batchSize
        }
        if full { wake.continuation.yield() }
    }

    // MARK: Export

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [wake] in
                // A tick a second; the stream ends with the service.
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    wake.continuation.yield()
                }
            }
            await withGracefulShutdownHandler {
                for await _ in wake.stream { await exportWaiting() }
            } onGracefulShutdown: { [wake] in
                wake.continuation.finish()
            }
            group.cancelAll()
        }
        // Whatever the last requests left.
        await exportWaiting()
    }

    private func exportWaiting() async {
        while true {
            let (batch, dropped) = state.withLock { state in
                defer {
                    state.spans.removeFirst(min(Self.batchSize, state.spans.count))
                    state.dropped = 0
                }
                return (Array(state.spans.prefix(Self.batchSize)), state.dropped)
            }
            if dropped > 0 { logger.warning("trace spans dropped: the collector is not keeping up", metadata: ["spans": "\(dropped)"]) }
            guard !batch.isEmpty else { return }
            await send(batch)
        }
    }

    private func send(_ spans: [FinishedSpan]) async {
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: document(spans)))
        do {
            let response = try await client.execute(request, timeout: .seconds(10))
            _ = try? await response.body.collect(upTo: 1 << 20)
            if !(200..<300).contains(response.status.code) {
                logger.warning("the trace collector refused spans", metadata: ["status": "\(response.status.code)", "spans": "\(spans.count)"])
            }
        } catch {
            logger.warning("cannot send spans to the trace collector", metadata: ["endpoint": "\(endpoint)", "error": "\(error)"])
        }
    }

    /// An `ExportTraceServiceRequest` in OTLP's JSON encoding (ids in hex, times as decimal strings).
    func document(_ spans: [FinishedSpan]) -> [UInt8] {
        var writer = JSONWriter()
        writer.object { root in
            root.member("resourceSpans") { writer in
                writer.list([0]) { writer, _ in
                    writer.object { resource in
                        resource.member("resource") { writer in
                            writer.object { $0.member("attributes") { Self.attributes(["service.name": .string(serviceName)], &$0) } }
                        }
                        resource.member("scopeSpans") { writer in
                            writer.list([0]) { writer, _ in
                                writer.object { scope in
                                    scope.member("scope") { writer in
                                        writer.object { object in
                                            object.member("name") { $0.string("ferry") }
                                            object.member("version") { $0.string(serviceVersion) }
                                        }
                                    }
                                    scope.member("spans") { writer in writer.list(spans) { writer, span in span.write(to: &writer) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        return writer.bytes
    }

    static func attributes(_ attributes: [String: SpanValue], _ writer: inout JSONWriter) {
        writer.list(attributes.keys.sorted()) { writer, key in
            writer.object { attribute in
                attribute.member("key") { $0.string(key) }
                attribute.member("value") { writer in
                    writer.object { value in
                        switch attributes[key]! {
                        case .string(let text): value.member("stringValue") { $0.string(text) }
                        case .int(let number): value.member("intValue") { $0.string(String(number)) }
                        }
                    }
                }
            }
        }
    }
}

public enum SpanValue: Sendable {
    case string(String)
    case int(Int)
}

/// A request's span, shared by the handlers that see parts of the request.
public final class RequestSpan: Sendable {
    private struct State {
        var attributes: [String: SpanValue] = [:]
        var children: [FinishedSpan] = []
        var ended = false
    }

    private let tracing: RequestTracing
    private let name: String
    public let context: TraceContext
    private let parentID: String?
    private let started = WallInstant.now()
    private let state = Mutex(State())

    init(tracing: RequestTracing, name: String, context: TraceContext, parentID: String?) {
        self.tracing = tracing
        self.name = name
        self.context = context
        self.parentID = parentID
    }

    public func set(_ key: String, _ value: String) {
        state.withLock { $0.attributes[key] = .string(value) }
    }

    public func set(_ key: String, _ value: Int) {
        state.withLock { $0.attributes[key] = .int(value) }
    }

    /// The child spans of an inference, from instants on the wall clock:
    /// decode from `received` to `submitted`, then queue and compute as the
    /// server measured them, and encode until `encoded`.
    public func recordInference(received: WallInstant, submitted: WallInstant, timing: InferenceTiming?, encoded: WallInstant) {
        var children = [child("decode", from: received, to: submitted)]
        if let timing {
            let queued = submitted.advanced(by: timing.queue)
            let computed = queued.advanced(by: timing.compute)
            children += [
                child("queue", from: submitted, to: queued), child("compute", from: queued, to: computed),
                child("encode", from: computed, to: max(encoded, computed)),
            ]
        }
        state.withLock { $0.children += children }
    }

    /// Ends the span (an error when `failed` says why) and hands it, with its children, to the exporter.
    public func end(failed message: String? = nil) {
        let ended = WallInstant.now()
        let taken = state.withLock { state -> (attributes: [String: SpanValue], children: [FinishedSpan])? in
            guard !state.ended else { return nil }
            state.ended = true
            return (state.attributes, state.children)
        }
        // A client that asked not to sample its trace gets none recorded.
        guard let (attributes, children) = taken, context.sampled else { return }
        tracing.finished(
            FinishedSpan(
                name: name, traceID: context.traceID, spanID: context.spanID, parentID: parentID, traceState: context.traceState,
                kind: 2, start: started, end: ended, attributes: attributes, error: message))
        for child in children { tracing.finished(child) }
    }

    private func child(_ name: String, from start: WallInstant, to end: WallInstant) -> FinishedSpan {
        FinishedSpan(
            name: name, traceID: context.traceID, spanID: RandomIdentifier.hex(bytes: 8), parentID: context.spanID, traceState: nil,
            kind: 1, start: start, end: max(start, end), attributes: [:], error: nil)
    }
}

/// A span as OTLP carries it.
struct FinishedSpan: Sendable {
    var name: String
    var traceID: String
    var spanID: String
    var parentID: String?
    var traceState: String?
    /// OTLP's SpanKind: 1 internal, 2 server.
    var kind: Int
    var start: WallInstant
    var end: WallInstant
    var attributes: [String: SpanValue]
    var error: String?

    func write(to writer: inout JSONWriter) {
        writer.object { span in
            span.member("traceId") { $0.string(traceID) }
            span.member("spanId") { $0.string(spanID) }
            if let parentID { span.member("parentSpanId") { $0.string(parentID) } }
            if let traceState { span.member("traceState") { $0.string(traceState) } }
            span.member("name") { $0.string(name) }
            span.member("kind") { $0.integer(kind) }
            span.member("startTimeUnixNano") { $0.string(String(start.nanosecondsSinceEpoch)) }
            span.member("endTimeUnixNano") { $0.string(String(end.nanosecondsSinceEpoch)) }
            if !attributes.isEmpty { span.member("attributes") { RequestTracing.attributes(attributes, &$0) } }
            if let error {
                span.member("status") { writer in
                    writer.object { status in
                        status.member("code") { $0.integer(2) }
                        status.member("message") { $0.string(error) }
                    }
                }
            }
        }
    }
}

/// A point in time as traces record it: nanoseconds since the Unix epoch.
public struct WallInstant: Sendable, Comparable {
    public var nanosecondsSinceEpoch: UInt64

    public static func now() -> WallInstant { WallInstant(nanosecondsSinceEpoch: SystemClock.wallNanoseconds()) }

    public func advanced(by duration: Duration) -> WallInstant {
        let (seconds, attoseconds) = duration.components
        return WallInstant(
            nanosecondsSinceEpoch: nanosecondsSinceEpoch &+ UInt64(max(0, seconds)) * 1_000_000_000 &+ UInt64(max(0, attoseconds) / 1_000_000_000))
    }

    public static func < (a: WallInstant, b: WallInstant) -> Bool { a.nanosecondsSinceEpoch < b.nanosecondsSinceEpoch }
}
