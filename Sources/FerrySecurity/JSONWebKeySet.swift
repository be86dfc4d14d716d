import Crypto
import CryptoExtras
import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The public keys `--jwt-jwks` names (RFC 7517): RSA keys for RS256, P-256
/// keys for ES256 and Ed25519 keys for EdDSA. Each key verifies only its own
/// algorithm, so a token cannot pick a weaker one for a key.
public struct JSONWebKeySet: Sendable {
    enum Key: Sendable {
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
        case ed25519(Curve25519.Signing.PublicKey)

        var algorithm: String {
            switch self {
            case .rsa: "RS256"
            case .p256: "ES256"
            case .ed25519: "EdDSA"
            }
        }
    }

    struct Entry: Sendable {
        var id: String?
        var key: Key
    }

    private(set) var entries: [Entry] = []

    public init(json: Data, file: String = "the JSON Web Key Set") throws(FerryError) {
        let document: JSONValue
        do {
            document = try JSONParser.parse(json)
        } catch {
            throw FerryError(.invalidArgument, "\(file) is not JSON: \(error.message)")
        }
        guard let keys = document["keys"]?.arrayValue else {
            throw FerryError(.invalidArgument, "\(file) has no \"keys\" array (a JSON Web Key Set, RFC 7517)")
        }
        for (index, key) in keys.enumerated() {
            let place = "\(file), key \(index)\(key["kid"]?.stringValue.map { " ('\($0)')" } ?? "")"
            if let use = key["use"]?.stringValue, use != "sig" { continue }
            guard let parsed = try Self.key(key, place: place) else { continue }
            if let algorithm = key["alg"]?.stringValue, algorithm != parsed.algorithm {
                throw FerryError(.invalidArgument, "\(place): alg \(algorithm) does not fit its key type (\(parsed.algorithm) expected)")
            }
            entries.append(Entry(id: key["kid"]?.stringValue, key: parsed))
        }
        guard !entries.isEmpty else {
            throw FerryError(.invalidArgument, "\(file) holds no signing key Ferry can use (RSA for RS256, EC P-256 for ES256, OKP Ed25519 for EdDSA)")
        }
    }

    public init(file path: String) throws(FerryError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FerryError(.invalidArgument, "cannot read the JSON Web Key Set \(path)")
        }
        try self.init(json: data, file: path)
    }

    /// The keys a token with this header may be verified with.
    func candidates(algorithm: String, keyID: String?) -> [Key] {
        entries.filter { $0.key.algorithm == algorithm && (keyID == nil || $0.id == keyID) }.map(\.key)
    }

    private static func key(_ key: JSONValue, place: String) throws(FerryError) -> Key? {
        func bytes(_ member: String) throws(FerryError) -> Data {
            guard let text = key[member]?.stringValue, let data = Base64URL.decode(text) else {
                throw FerryError(.invalidArgument, "\(place): '\(member)' must be base64url")
            }
            return data
        }
        do {
            switch (key["kty"]?.stringValue, key["crv"]?.stringValue) {
            case ("RSA", _):
                // Keys under 2048 bits are refused here.
                return .rsa(try _RSA.Signing.PublicKey(n: try bytes("n"), e: try bytes("e")))
            case ("EC", "P-256"):
                return .p256(try P256.Signing.PublicKey(rawRepresentation: try bytes("x") + bytes("y")))
            case ("OKP", "Ed25519"):
                return .ed25519(try Curve25519.Signing.PublicKey(rawRepresentation: try bytes("x")))
            default:
                return nil
            }
        } catch let error as FerryError {
            throw error
        } catch {
            throw FerryError(.invalidArgument, "\(place) is not a usable public key: \(error)")
        }
    }
}

/// Base64 with the URL-safe alphabet and no padding, as JWTs and JWKs write it.
enum Base64URL {
    static func decode(_ text: some StringProtocol) -> Data? {
        var standard = text.utf8.map { byte -> UInt8 in
            switch byte {
            case UInt8(ascii: "-"): UInt8(ascii: "+")
            case UInt8(ascii: "_"): UInt8(ascii: "/")
            default: byte
            }
        }
        guard !standard.contains(UInt8(ascii: "=")), standard.count % 4 != 1 else { return nil }
        while standard.count % 4 != 0 { standard.append(UInt8(ascii: "=")) }
        return Data(base64Encoded: Data(standard))
    }
}
