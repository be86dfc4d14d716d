/// A span's place in a trace, as W3C Trace Context writes it in `traceparent`
/// (`00-<trace id>-<parent id>-<flags>`): 16 and 8 random bytes, lowercase hex.
public struct TraceContext: Sendable, Equatable {
    public var traceID: String
    public var spanID: String
    public var sampled: Bool
    public var traceState: String?

    /// The client's context, or nil when `traceparent` is missing or malformed
    /// (the request then starts a trace of its own, as the spec asks).
    public init?(traceparent: String?, tracestate: String? = nil) {
        guard let traceparent else { return nil }
        let parts = traceparent.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].utf8.count == 2, parts[0] != "ff", Self.isHex(parts[0]),
            parts[1].utf8.count == 32, Self.isHex(parts[1]), parts[1].utf8.contains(where: { $0 != UInt8(ascii: "0") }),
            parts[2].utf8.count == 16, Self.isHex(parts[2]), parts[2].utf8.contains(where: { $0 != UInt8(ascii: "0") }),
            parts[3].utf8.count == 2, Self.isHex(parts[3]), let flags = UInt8(parts[3], radix: 16),
            // Version 00 has exactly four fields; later versions may add more.
            parts[0] != "00" || parts.count == 4
        else { return nil }
        traceID = String(parts[1])
        spanID = String(parts[2])
        sampled = flags & 1 == 1
        traceState = tracestate.flatMap { $0.utf8.count <= 512 ? $0 : nil }
    }

    init(traceID: String, spanID: String, sampled: Bool, traceState: String?) {
        self.traceID = traceID
        self.spanID = spanID
        self.sampled = sampled
        self.traceState = traceState
    }

    private static func isHex(_ text: Substring) -> Bool {
        text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }
}
