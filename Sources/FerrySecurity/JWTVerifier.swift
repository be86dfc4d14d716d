import Crypto
import CryptoExtras
import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `--jwt-jwks`, `--jwt-issuer` and `--jwt-audience`.
public struct JWTSettings: Sendable {
    public var keySetFile: String
    public var issuer: String
    public var audience: String
    /// Clock difference allowed for `exp` and `nbf`.
    public var leeway: Double = 60

    public init(keySetFile: String, issuer: String, audience: String) {
        self.keySetFile = keySetFile
        self.issuer = issuer
        self.audience = audience
    }
}

/// Checks a JWT bearer token (RFC 7519) the way a resource server must:
/// compact form, an algorithm among RS256, ES256 and EdDSA that matches the
/// key, a valid signature, not expired (`exp` is required) nor early, issued
/// by the configured issuer for the configured audience. Its scopes come from
/// `scope` (space-separated) or `scp`; scopes Ferry does not know are ignored.
/// It runs synchronously, as the gRPC frontend decides in an event loop handler.
public struct JWTVerifier: Sendable {
    public enum Failure: Error, Equatable {
        case malformed(String)
        case signature
        case expired
        case notYetValid
        case issuer
        case audience

        var message: String {
            switch self {
            case .malformed(let why): "the bearer token is not a usable JWT: \(why)"
            case .signature: "the bearer token's signature does not verify with any key of the server's key set"
            case .expired: "the bearer token has expired"
            case .notYetValid: "the bearer token is not valid yet (nbf)"
            case .issuer: "the bearer token was issued by another issuer than this server accepts"
            case .audience: "the bearer token is not meant for this server (aud)"
            }
        }
    }

    let settings: JWTSettings

    /// Compact JWTs are three base64url parts; API keys have no dots.
    static func looksLikeJWT(_ token: some StringProtocol) -> Bool {
        token.utf8.count(where: { $0 == UInt8(ascii: ".") }) == 2
    }

    func verify(_ token: some StringProtocol, keys: JSONWebKeySet, now: Double = Date().timeIntervalSince1970) throws(Failure) -> Credential {
        guard token.utf8.count <= 16 << 10 else { throw .malformed("it is longer than 16 KB") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(parts[0]), let payloadBytes = Base64URL.decode(parts[1]),
            let signature = Base64URL.decode(parts[2])
        else { throw .malformed("it is not three base64url parts") }
        guard let header = try? JSONParser.parse(headerBytes), case .object = header,
            let payload = try? JSONParser.parse(payloadBytes), case .object = payload
        else { throw .malformed("its header or claims are not a JSON object") }
        guard let algorithm = header["alg"]?.stringValue else { throw .malformed("its header names no algorithm") }
        guard ["RS256", "ES256", "EdDSA"].contains(algorithm) else { throw .malformed("algorithm \(algorithm) is not accepted") }
        guard header["crit"] == nil else { throw .malformed("it has critical header parameters") }
        let signed = Data(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        let verified = keys.candidates(algorithm: algorithm, keyID: header["kid"]?.stringValue).contains { key in
            Self.isValid(signature, of: signed, with: key)
        }
        guard verified else { throw .signature }

        guard let expiry = Self.number(payload["exp"]) else { throw .malformed("it has no numeric 'exp' claim") }
        guard now < expiry + settings.leeway else { throw .expired }
        if let notBefore = Self.number(payload["nbf"]), now + settings.leeway < notBefore { throw .notYetValid }
        guard payload["iss"]?.stringValue == settings.issuer else { throw .issuer }
        let audiences: [String] =
            switch payload["aud"] {
            case .string(let one)?: [one]
            case .array(let many)?: many.compactMap(\.stringValue)
            default: []
            }
        guard audiences.contains(settings.audience) else { throw .audience }

        let words: [String] =
            switch (payload["scope"], payload["scp"]) {
            case (.string(let text)?, _), (nil, .string(let text)?): text.split(separator: " ").map(String.init)
            case (nil, .array(let list)?): list.compactMap(\.stringValue)
            default: []
            }
        let subject = payload["sub"]?.stringValue ?? payload["client_id"]?.stringValue ?? payload["azp"]?.stringValue
        guard let subject, !subject.isEmpty else { throw .malformed("it names no subject ('sub')") }
        return Credential(name: subject, scopes: Set(words.compactMap(Scope.init(rawValue:))), source: .jwt)
    }

    private static func number(_ value: JSONValue?) -> Double? {
        guard case .number(let text)? = value, let number = Double(text), number.isFinite else { return nil }
        return number
    }

    private static func isValid(_ signature: Data, of signed: Data, with key: JSONWebKeySet.Key) -> Bool {
        switch key {
        case .rsa(let key):
            let digest = SHA256.hash(data: signed)
            return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: digest, padding: .insecurePKCS1v1_5)
        case .p256(let key):
            guard let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(signature, for: signed)
        case .ed25519(let key):
            return key.isValidSignature(signature, for: signed)
        }
    }
}
