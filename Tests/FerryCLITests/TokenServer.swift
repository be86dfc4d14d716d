import Crypto
import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// A token service as the distribution token spec describes it, for a real
/// `docker-registry` configured with `auth.token`: `GET /token?service=&scope=`
/// with basic credentials answers `{"token": JWT}`, an ES256 JWT whose `x5c`
/// header carries a self-signed certificate the registry trusts
/// (`rootcertbundle`), granting the scopes asked for. Wrong or missing
/// credentials get 401.
final class TokenServer: Sendable {
    static let issuer = "ferry-test-issuer"
    static let service = "ferry-test-registry"

    let directory: URL
    /// The PEM certificate the registry verifies tokens with.
    let certificate: URL
    private let key: P256.Signing.PrivateKey
    private let certificateDER: Data
    private let users: [String: String]
    /// A class, so the route can capture it before `self` is whole.
    private final class Requests: Sendable {
        let list = Mutex<[(user: String?, scopes: [String])]>([])
    }

    private let requests = Requests()
    private let server: LocalHTTPServer

    init(users: [String: String]) async throws {
        self.users = users
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-token-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        certificate = directory.appendingPathComponent("token.crt")
        let keyFile = directory.appendingPathComponent("token.key")
        let generated = try Tool.run(
            "openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                "-subj", "/CN=ferry-test-token-issuer", "-keyout", keyFile.path, "-out", certificate.path,
            ])
        guard generated.status == 0 else { throw FerryError(.internal, "openssl failed: \(generated.stderr)") }
        key = try P256.Signing.PrivateKey(pemRepresentation: String(contentsOf: keyFile, encoding: .utf8))
        let pem = try String(contentsOf: certificate, encoding: .utf8)
        let base64 = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        certificateDER = Data(base64Encoded: base64)!

        let router = Router()
        router.get("/token") { [users, key, certificateDER, requests] request, _ -> Response in
            let scopes = request.uri.queryParameters.getAll("scope").map { String($0) }
            var user: String?
            if let header = request.headers[.authorization], header.hasPrefix("Basic "),
                let decoded = Data(base64Encoded: String(header.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) }),
                let colon = decoded.firstIndex(of: ":")
            {
                let name = String(decoded[..<colon])
                guard users[name] == String(decoded[decoded.index(after: colon)...]) else {
                    return Self.unauthorized("wrong password for \(name)")
                }
                user = name
            }
            requests.list.withLock { $0.append((user, scopes)) }
            guard let user else { return Self.unauthorized("this token service gives no anonymous tokens") }
            let token = try Self.token(for: user, scopes: scopes, key: key, certificate: certificateDER)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"token":"\#(token)","expires_in":300}"#)))
        }
        server = try await LocalHTTPServer(router, name: "the token server")
    }

    var realm: String { server.url + "/token" }

    /// The users and scopes tokens were asked for, in order.
    var tokenRequests: [(user: String?, scopes: [String])] { requests.list.withLock { $0 } }

    func stop() {
        server.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    private static func unauthorized(_ message: String) -> Response {
        Response(
            status: .unauthorized, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: #"{"errors":[{"code":"UNAUTHORIZED","message":"\#(message)"}]}"#)))
    }

    /// `header.claims.signature`, signed with ES256 (the signature is r‖s, RFC 7518 section 3.4).
    private static func token(for user: String, scopes: [String], key: P256.Signing.PrivateKey, certificate: Data) throws -> String {
        let now = Int(Date().timeIntervalSince1970)
        let access = scopes.compactMap { scope -> String? in
            // repository:NAME:ACTIONS, where NAME may itself hold no colon.
            let parts = scope.split(separator: ":")
            guard parts.count == 3, parts[0] == "repository" else { return nil }
            let actions = parts[2].split(separator: ",").map { #""\#($0)""# }.joined(separator: ",")
            return #"{"type":"repository","name":"\#(parts[1])","actions":[\#(actions)]}"#
        }
        let header = #"{"typ":"JWT","alg":"ES256","x5c":["\#(certificate.base64EncodedString())"]}"#
        let claims = """
            {"iss":"\(Self.issuer)","sub":"\(user)","aud":"\(Self.service)","exp":\(now + 300),"nbf":\(now - 60),"iat":\(now),\
            "jti":"\(UUID().uuidString)","access":[\(access.joined(separator: ","))]}
            """
        let signingInput = Self.base64URL(Data(header.utf8)) + "." + Self.base64URL(Data(claims.utf8))
        let signature = try key.signature(for: Data(signingInput.utf8)).rawRepresentation
        return signingInput + "." + Self.base64URL(signature)
    }

    private static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
