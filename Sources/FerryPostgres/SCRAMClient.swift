import Crypto
import CryptoExtras

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The client side of SCRAM-SHA-256 (RFC 5802/7677) as PostgreSQL runs it:
/// no channel binding, and the user name left empty (the server takes the
/// startup message's).
package struct SCRAMClient {
    static let mechanism = "SCRAM-SHA-256"

    let password: String
    let user: String
    let clientNonce: String
    private var clientFirstBare = ""
    private var serverSignature: [UInt8] = []

    package init(password: String, user: String = "", clientNonce: String? = nil) {
        self.password = password
        self.user = user
        self.clientNonce = clientNonce ?? Data((0..<18).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    }

    package mutating func clientFirstMessage() -> [UInt8] {
        clientFirstBare = "n=\(user),r=\(clientNonce)"
        return Array("n,,\(clientFirstBare)".utf8)
    }

    /// Answers the server's challenge with the proof of the password.
    package mutating func clientFinalMessage(serverFirst: [UInt8]) throws(PostgresError) -> [UInt8] {
        guard let serverFirstText = String(validating: serverFirst, as: UTF8.self) else { throw Self.failure("its first message is not text") }
        let attributes = Self.attributes(serverFirstText)
        guard let nonce = attributes["r"], nonce.hasPrefix(clientNonce), nonce.count > clientNonce.count else {
            throw Self.failure("its nonce does not extend the client's")
        }
        guard let saltText = attributes["s"], let salt = Data(base64Encoded: saltText) else { throw Self.failure("it sent no salt") }
        guard let iterationText = attributes["i"], let iterations = Int(iterationText), iterations >= 1 else {
            throw Self.failure("it sent no iteration count")
        }
        let salted: SymmetricKey
        do {
            salted = try KDF.Insecure.PBKDF2.deriveKey(
                from: Array(password.utf8), salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: iterations)
        } catch {
            throw PostgresError(.protocolViolation, "cannot derive the SCRAM key: \(error)")
        }
        let clientKey = Array(HMAC<SHA256>.authenticationCode(for: Array("Client Key".utf8), using: salted))
        let storedKey = SymmetricKey(data: Array(SHA256.hash(data: clientKey)))
        let withoutProof = "c=biws,r=\(nonce)"
        let authMessage = Array("\(clientFirstBare),\(serverFirstText),\(withoutProof)".utf8)
        let clientSignature = Array(HMAC<SHA256>.authenticationCode(for: authMessage, using: storedKey))
        let proof = zip(clientKey, clientSignature).map { $0 ^ $1 }
        let serverKey = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array("Server Key".utf8), using: salted)))
        serverSignature = Array(HMAC<SHA256>.authenticationCode(for: authMessage, using: serverKey))
        return Array("\(withoutProof),p=\(Data(proof).base64EncodedString())".utf8)
    }

    /// Checks that the server knew the password too.
    package func verify(serverFinal: [UInt8]) throws(PostgresError) {
        let attributes = Self.attributes(String(decoding: serverFinal, as: UTF8.self))
        if let error = attributes["e"] { throw PostgresError(.protocolViolation, "SCRAM authentication failed: \(error)") }
        guard let verifier = attributes["v"].flatMap({ Data(base64Encoded: $0) }), Array(verifier) == serverSignature else {
            throw Self.failure("its signature does not match: it does not know the password")
        }
    }

    private static func attributes(_ message: String) -> [String: String] {
        var result: [String: String] = [:]
        for part in message.split(separator: ",") where part.count >= 2 && part.dropFirst().first == "=" {
            result[String(part.prefix(1))] = String(part.dropFirst(2))
        }
        return result
    }

    private static func failure(_ reason: String) -> PostgresError {
        PostgresError(.protocolViolation, "the server's SCRAM-SHA-256 exchange is not valid: \(reason)")
    }
}
