import Synchronization

/// The id that ties a request's access-log line, its trace and the client's
/// own logs together: the client's `X-Request-ID` (gRPC `x-request-id`) when
/// it is a plain token, a new one otherwise.
public enum RequestID {
    /// At most this many bytes of a client's id are kept.
    static let maximumLength = 128

    public static func accept(_ sent: String?) -> String {
        if let sent, (1...maximumLength).contains(sent.utf8.count), sent.utf8.allSatisfy(isTokenByte) { return sent }
        return generate()
    }

    /// 64 random bits drawn once per process, then a counter: 32 hex digits,
    /// unique per process and unlikely to repeat across processes, with no
    /// system call per request (an id is a name, not a secret).
    public static func generate() -> String {
        let count = counter.wrappingAdd(1, ordering: .relaxed).newValue
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8](repeating: 0, count: 32)
        for (half, value) in [prefix, count].enumerated() {
            var bits = value
            for i in 0..<16 {
                text[half * 16 + 15 - i] = digits[Int(bits & 15)]
                bits >>= 4
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static let prefix = UInt64.random(in: .min ... .max)
    private static let counter = Atomic<UInt64>(0)

    /// Letters, digits and `-_.:@/+=`: what request ids and trace ids are
    /// made of, and nothing that could split a log line or a header.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "/"),
            UInt8(ascii: "+"), UInt8(ascii: "="):
            true
        default: false
        }
    }
}
