import AsyncHTTPClient
import FerryCore
import NIOCore
import NIOHTTP1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A client of one registry's OCI distribution API. Its abilities live in
/// extension files named for the part of the spec they follow: pushing
/// (`+Push`), pulling (`+Pull`); authentication is `RegistryAuthenticator`.
public final class RegistryClient: Sendable {
    public struct Credentials: Sendable, Hashable {
        public var username: String
        public var password: String

        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

    public let registry: String
    let scheme: String
    let http: HTTPClient
    let authenticator: RegistryAuthenticator
    /// Blobs larger than this go up in PATCH chunks of this size.
    let chunkSize: Int
    let progress: ProgressDisplay
    /// Tries of a request that fails in a way that may pass.
    let attempts: Int

    /// - Parameters:
    ///   - insecure: plain HTTP. Loopback registries always use it.
    ///   - connectTimeout, attempts: how long one connection attempt may take,
    ///     and how many times a failing request is tried (waiting 1, 2, 4 s between).
    public init(
        registry: String, insecure: Bool = false, credentials: Credentials? = nil, chunkSize: Int = 16 << 20,
        progress: ProgressDisplay = .silent, connectTimeout: TimeAmount = .seconds(10), attempts: Int = 4
    ) {
        self.registry = registry
        let host = registry.split(separator: ":").first.map(String.init) ?? registry
        scheme = insecure || ["localhost", "127.0.0.1", "[::1]"].contains(host) ? "http" : "https"
        self.chunkSize = chunkSize
        self.progress = progress
        // Redirects are followed here, so that credentials never go to another host (blob storage).
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout.connect = connectTimeout
        self.attempts = max(1, attempts)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        authenticator = RegistryAuthenticator(registry: registry, credentials: credentials, http: http)
    }

    public func shutdown() async { try? await http.shutdown() }

    /// `GET /v2/`: the registry is there and speaks the distribution API.
    func checkVersion() async throws(FerryError) {
        _ = try await retrying("checking \(registry)") { () async throws(FerryError) in
            try await send(.GET, "/v2/", scopes: [], expecting: [200])
        }
    }

    static func pullScope(_ repository: String) -> String { "repository:\(repository):pull" }
    static func pushScope(_ repository: String) -> String { "repository:\(repository):pull,push" }

    // MARK: HTTP

    struct Response {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var body: Data
    }

    /// Runs `body` again after a failure that may pass (a 5xx, a reset
    /// connection), waiting 1, 2, then 4 s; other failures end at once.
    func retrying<T>(_ what: String, _ body: () async throws(FerryError) -> T) async throws(FerryError) -> T {
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch  where error.code == .unavailable && attempt < attempts {
                progress.message("\(what) failed (\(error.message)); retrying in \(1 << (attempt - 1)) s")
                try? await Task.sleep(for: .seconds(1 << (attempt - 1)))
                attempt += 1
            }
        }
    }

    /// One request whose answer is small (JSON, an empty upload reply); `path`
    /// is a path or an absolute URL (a `Location`).
    func send(
        _ method: HTTPMethod, _ path: String, scopes: [String], headers: [String: String] = [:], body: Data? = nil,
        expecting: Set<Int>
    ) async throws(FerryError) -> Response {
        let (response, url) = try await perform(method, path, scopes: scopes, headers: headers, body: body, timeout: .seconds(300))
        let data: Data
        do {
            data = Data((try await response.body.collect(upTo: 16 << 20)).readableBytesView)
        } catch {
            throw FerryError(.unavailable, "the connection to \(registry) broke while reading its answer: \(error)")
        }
        guard expecting.contains(Int(response.status.code)) else {
            throw Self.failure(method: method, url: url, status: response.status, body: data)
        }
        return Response(status: response.status, headers: response.headers, body: data)
    }

    /// Sends a request, answers one 401 through the authenticator, and follows
    /// redirects of GET and HEAD (without credentials when the host changes).
    /// Returns the final response with its body unread, and its URL.
    func perform(
        _ method: HTTPMethod, _ path: String, scopes: [String], headers: [String: String], body: Data?, timeout: TimeAmount
    ) async throws(FerryError) -> (HTTPClientResponse, String) {
        var url = path.hasPrefix("http://") || path.hasPrefix("https://") ? path : "\(scheme)://\(registry)\(path)"
        var authorization = try await authenticator.authorization(for: scopes)
        var answeredChallenge = false
        var redirects = 0
        while true {
            var request = HTTPClientRequest(url: url)
            request.method = method
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let authorization { request.headers.add(name: "Authorization", value: authorization) }
            if let body {
                request.body = .bytes(ByteBuffer(bytes: body))
                request.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
            }
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, timeout: timeout)
            } catch {
                throw FerryError(.unavailable, "cannot reach the registry \(registry): \(error)")
            }
            if response.status == .unauthorized {
                let challenge = response.headers.first(name: "WWW-Authenticate")
                let data = (try? await response.body.collect(upTo: 1 << 20)).map { Data($0.readableBytesView) } ?? Data()
                guard !answeredChallenge, Self.host(of: url) == Self.host(of: "\(scheme)://\(registry)/") else {
                    throw authenticator.refusal(Self.failure(method: method, url: url, status: response.status, body: data))
                }
                authorization = try await authenticator.respond(to: challenge, scopes: scopes)
                answeredChallenge = true
                continue
            }
            if [301, 302, 303, 307, 308].contains(response.status.code), method == .GET || method == .HEAD,
                let location = response.headers.first(name: "Location"), redirects < 5
            {
                _ = try? await response.body.collect(upTo: 1 << 20)
                let next = Self.resolve(location, against: url)
                if Self.host(of: next) != Self.host(of: url) { authorization = nil }
                url = next
                redirects += 1
                continue
            }
            return (response, url)
        }
    }

    /// A `Location` may be absolute, or a path relative to the URL it answered
    /// (distribution spec: "the client MUST resolve it against the request URL").
    package static func resolve(_ location: String, against url: String) -> String {
        if location.hasPrefix("http://") || location.hasPrefix("https://") { return location }
        guard let scheme = url.firstRange(of: "://") else { return location }
        let afterScheme = url[scheme.upperBound...]
        let origin = url[..<(afterScheme.firstIndex(of: "/") ?? url.endIndex)]
        if location.hasPrefix("/") { return origin + location }
        let base = url[..<(url.lastIndex(of: "/") ?? url.endIndex)]
        return base + "/" + location
    }

    static func host(of url: String) -> Substring {
        guard let scheme = url.firstRange(of: "://") else { return "" }
        let rest = url[scheme.upperBound...]
        return rest[..<(rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex)]
    }

    /// The registry's `{"errors":[{"code","message"}]}`, as one message.
    static func failure(method: HTTPMethod, url: String, status: HTTPResponseStatus, body: Data) -> FerryError {
        var details: [String] = []
        if case .array(let errors)? = (try? JSONParser.parse(body))?["errors"] {
            for error in errors {
                let code = error["code"]?.stringValue ?? "?"
                let message = error["message"]?.stringValue ?? ""
                details.append(message.isEmpty ? code : "\(code): \(message)")
            }
        }
        let detail = details.isEmpty ? "" : " (" + details.joined(separator: "; ") + ")"
        let code: FerryError.Code =
            switch status.code {
            case 401, 403: .failedPrecondition
            case 404: .notFound
            case 429, 500...: .unavailable
            default: .invalidArgument
            }
        return FerryError(code, "the registry answered \(method.rawValue) \(url) with \(status.code) \(status.reasonPhrase)\(detail)")
    }
}
