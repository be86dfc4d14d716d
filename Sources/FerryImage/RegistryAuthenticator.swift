import AsyncHTTPClient
import FerryCore
import NIOCore
import NIOHTTP1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Answers a registry's authentication challenges and remembers the answer.
///
/// - `Basic`: the user name and password, sent with every later request.
/// - `Bearer` (the distribution token spec, as Docker Hub, GHCR, ECR, GCR,
///   Harbor and Quay use it): a token from the challenge's `realm`, asked for
///   with its `service` and the scopes the operation needs, with the
///   credentials as basic auth when there are any, anonymously otherwise.
///   Tokens are kept per set of scopes; an expired one draws a new 401,
///   which is answered again.
actor RegistryAuthenticator {
    private let credentials: RegistryClient.Credentials?
    private let http: HTTPClient
    private let registry: String
    /// The `Bearer` challenge seen last; new scopes get a token without another 401.
    private var bearer: AuthenticationChallenge?
    private var basic = false
    private var tokens: [String: String] = [:]

    init(registry: String, credentials: RegistryClient.Credentials?, http: HTTPClient) {
        self.registry = registry
        self.credentials = credentials
        self.http = http
    }

    /// The `Authorization` header to send for `scopes`, if one is known.
    func authorization(for scopes: [String]) async throws(FerryError) -> String? {
        if basic, let credentials { return Self.basicAuthorization(credentials) }
        guard let bearer else { return nil }
        if let token = tokens[Self.key(scopes)] { return "Bearer \(token)" }
        let token = try await fetchToken(bearer, scopes: scopes)
        tokens[Self.key(scopes)] = token
        return "Bearer \(token)"
    }

    /// Answers the 401 a request for `scopes` drew; returns the header to
    /// retry with.
    func respond(to header: String?, scopes: [String]) async throws(FerryError) -> String {
        let challenges = header.map(AuthenticationChallenge.parse) ?? []
        if let challenge = challenges.first(where: { $0.scheme == "bearer" }) {
            bearer = challenge
            // The challenge may ask for more than the operation did (another repository's pull, for a mount).
            let wanted = Array(Set(scopes + challenge.scopes)).sorted()
            let token = try await fetchToken(challenge, scopes: wanted)
            tokens[Self.key(scopes)] = token
            tokens[Self.key(wanted)] = token
            return "Bearer \(token)"
        }
        if challenges.contains(where: { $0.scheme == "basic" }) || challenges.isEmpty {
            guard let credentials else { throw Self.needsCredentials(registry) }
            basic = true
            return Self.basicAuthorization(credentials)
        }
        throw FerryError(
            .failedPrecondition,
            "\(registry) asks for \(challenges.map(\.scheme).joined(separator: ", ")) authentication, which Ferry does not speak (Basic and Bearer only)"
        )
    }

    /// GET REALM?service=…&scope=… (the token spec's "Requesting a Token").
    private func fetchToken(_ challenge: AuthenticationChallenge, scopes: [String]) async throws(FerryError) -> String {
        guard let realm = challenge.realm, realm.hasPrefix("http://") || realm.hasPrefix("https://") else {
            throw FerryError(.internal, "\(registry) sent a Bearer challenge without an http(s) realm")
        }
        var query: [String] = []
        if let service = challenge.service { query.append("service=\(service.percentEncodedQueryValue)") }
        query += scopes.map { "scope=\($0.percentEncodedQueryValue)" }
        let url = realm + (query.isEmpty ? "" : (realm.contains("?") ? "&" : "?") + query.joined(separator: "&"))
        var request = HTTPClientRequest(url: url)
        if let credentials { request.headers.add(name: "Authorization", value: Self.basicAuthorization(credentials)) }
        let status: HTTPResponseStatus
        let body: Data
        do {
            let response = try await http.execute(request, timeout: .seconds(60))
            status = response.status
            body = Data((try await response.body.collect(upTo: 1 << 20)).readableBytesView)
        } catch {
            throw FerryError(.unavailable, "cannot reach \(registry)'s token service \(realm): \(error)")
        }
        guard status == .ok else {
            let who = credentials.map { "the credentials of '\($0.username)'" } ?? "an anonymous request"
            let failure = RegistryClient.failure(method: .GET, url: realm, status: status, body: body)
            let code: FerryError.Code = status.code >= 500 ? .unavailable : .failedPrecondition
            throw FerryError(code, "\(registry)'s token service refused \(who): \(failure.message)")
        }
        let document = try? JSONParser.parse(body)
        guard let token = document?["token"]?.stringValue ?? document?["access_token"]?.stringValue, !token.isEmpty else {
            throw FerryError(.internal, "\(registry)'s token service answered without a token")
        }
        return token
    }

    /// The error for a 401 that answering the challenge did not cure.
    nonisolated func refusal(_ failure: FerryError) -> FerryError {
        guard let credentials else {
            return FerryError(
                .failedPrecondition,
                "\(Self.needsCredentials(registry).message); anonymous access was refused: \(failure.message)")
        }
        return FerryError(.failedPrecondition, "\(registry) refused the credentials of '\(credentials.username)': \(failure.message)")
    }

    private static func key(_ scopes: [String]) -> String { Set(scopes).sorted().joined(separator: " ") }

    static func basicAuthorization(_ credentials: RegistryClient.Credentials) -> String {
        "Basic " + Data("\(credentials.username):\(credentials.password)".utf8).base64EncodedString()
    }

    static func needsCredentials(_ registry: String) -> FerryError {
        FerryError(
            .failedPrecondition,
            "\(registry) needs credentials: pass --username and --password-stdin, or log in with docker login (Ferry reads ~/.docker/config.json)"
        )
    }
}
