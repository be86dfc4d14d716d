import Crypto
import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The API keys `--api-keys` names: one per line, `NAME SCOPES sha256:DIGEST
/// [rate=LIMIT]`, `#` starting a comment. The file holds only SHA-256 digests
/// (`ferry api-key` makes a key and its line), so reading it reveals no key.
public struct APIKeys: Sendable {
    struct Entry: Sendable {
        var digest: [UInt8]
        var credential: Credential
    }

    private(set) var entries: [Entry]

    public var count: Int { entries.count }

    public init(text: String, file: String = "the API keys file") throws(FerryError) {
        entries = []
        var names = Set<String>()
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard !fields.isEmpty else { continue }
            let place = "\(file), line \(index + 1)"
            guard fields.count >= 3 else {
                throw FerryError(.invalidArgument, "\(place): expected 'NAME SCOPES sha256:DIGEST [rate=LIMIT]'")
            }
            let name = String(fields[0])
            guard name.utf8.allSatisfy({ Self.isNameByte($0) }), name.utf8.count <= 128 else {
                throw FerryError(.invalidArgument, "\(place): a key's name is letters, digits, '_', '-', '.' and '@'")
            }
            guard names.insert(name).inserted else { throw FerryError(.invalidArgument, "\(place): the name '\(name)' is used twice") }
            let scopes: Set<Scope>
            do {
                scopes = try Scope.list(fields[1])
            } catch {
                throw FerryError(.invalidArgument, "\(place): \(error.message)")
            }
            guard let digest = Self.digest(fields[2]) else {
                throw FerryError(
                    .invalidArgument,
                    "\(place): the third field must be sha256: and the key's SHA-256 digest in 64 hex digits (never the key itself)")
            }
            guard !entries.contains(where: { $0.digest == digest }) else {
                throw FerryError(.invalidArgument, "\(place): the same key is listed twice")
            }
            var rateLimit: RateLimit?
            for option in fields.dropFirst(3) {
                guard option.hasPrefix("rate=") else { throw FerryError(.invalidArgument, "\(place): unknown option '\(option)'") }
                do {
                    rateLimit = try RateLimit(option.dropFirst(5))
                } catch {
                    throw FerryError(.invalidArgument, "\(place): \(error.message)")
                }
            }
            entries.append(Entry(digest: digest, credential: Credential(name: name, scopes: scopes, rateLimit: rateLimit, source: .apiKey)))
        }
    }

    public init(file path: String) throws(FerryError) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw FerryError(.invalidArgument, "cannot read the API keys file \(path) (missing, unreadable or not UTF-8)")
        }
        try self.init(text: text, file: path)
    }

    /// The credential whose key this is. Every entry is compared, each in
    /// time that does not depend on where the digests differ.
    public func credential(for key: some StringProtocol) -> Credential? {
        let presented = Array(SHA256.hash(data: Array(key.utf8)))
        var found: Int?
        for (index, entry) in entries.enumerated() {
            var difference: UInt8 = 0
            for i in 0..<32 { difference |= entry.digest[i] ^ presented[i] }
            if difference == 0 { found = index }
        }
        return found.map { entries[$0].credential }
    }

    /// The line for a keys file: `key`'s digest, never the key.
    public static func line(name: String, scopes: Set<Scope>, key: String, rateLimit: RateLimit? = nil) -> String {
        let digest = SHA256.hash(data: Array(key.utf8)).map { byte in
            let hex = Array("0123456789abcdef".utf8)
            return String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
        }.joined()
        let scopeList = scopes.count == Scope.allCases.count ? "*" : scopes.sorted().map(\.rawValue).joined(separator: ",")
        return "\(name) \(scopeList) sha256:\(digest)" + (rateLimit.map { " rate=\($0)" } ?? "")
    }

    private static func digest(_ field: Substring) -> [UInt8]? {
        guard field.hasPrefix("sha256:") else { return nil }
        let hex = Array(field.dropFirst(7).utf8)
        guard hex.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for i in stride(from: 0, to: 64, by: 2) {
            guard let high = nibble(hex[i]), let low = nibble(hex[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "@"): true
        default: false
        }
    }
}
