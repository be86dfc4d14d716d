/// Random version-4 UUIDs from the system's generator (`getrandom(2)`).
/// FoundationEssentials' `UUID()` reads `/dev/urandom` and, where that is
/// missing (a container root without `/dev`), silently returns all zeros.
public enum RandomIdentifier {
    /// `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx` in lowercase (RFC 9562, section 5.4).
    public static func uuid() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        bytes[6] = bytes[6] & 0x0f | 0x40
        bytes[8] = bytes[8] & 0x3f | 0x80
        let hex = Array(bytes.hexString)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(hex[$0]) }.joined(separator: "-")
    }
}
