import Crypto
import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A content address, `sha256:HEX`, as OCI images name every blob.
public struct Digest: Hashable, Sendable, CustomStringConvertible, Codable {
    public let hex: String

    public init(hex: String) { self.hex = hex }

    public init(parsing text: String) throws(FerryError) {
        guard text.hasPrefix("sha256:"), text.count == 71,
            text.dropFirst(7).allSatisfy({ $0.isHexDigit && !$0.isUppercase })
        else { throw FerryError(.invalidArgument, "'\(text)' is not a sha256 digest (sha256: and 64 lowercase hex digits)") }
        hex = String(text.dropFirst(7))
    }

    public var description: String { "sha256:" + hex }

    public static func of(_ data: some DataProtocol) -> Digest {
        Digest(SHA256.hash(data: data))
    }

    init(_ digest: SHA256.Digest) {
        hex = digest.hexString
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
