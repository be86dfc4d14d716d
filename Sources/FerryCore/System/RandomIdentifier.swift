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

extension RandomIdentifier {
    /// `bytes` random bytes from the system's generator as unpadded base64url:
    /// a secret that fits a header, a URL or a file unquoted.
    public static func token(bytes count: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var bits = 0
        var buffered = 0
        var text: [UInt8] = []
        for _ in 0..<count {
            buffered = buffered << 8 | Int(UInt8.random(in: .min ... .max, using: &generator))
            bits += 8
            while bits >= 6 {
                bits -= 6
                text.append(alphabet[(buffered >> bits) & 63])
            }
        }
        if bits > 0 { text.append(alphabet[(buffered << (6 - bits)) & 63]) }
        return String(decoding: text, as: UTF8.self)
    }
}

extension RandomIdentifier {
    /// `bytes` random bytes from the system's generator as lowercase hex
    /// (trace and span ids: 16 and 8 bytes).
    public static func hex(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        while bytes.count < count {
            withUnsafeBytes(of: generator.next()) { bytes += $0.prefix(count - bytes.count) }
        }
        return bytes.hexString
    }
}
