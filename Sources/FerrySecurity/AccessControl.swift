import FerryCore
import Logging
import Metrics

/// How `ferry serve` decides who may call what.
public struct AccessSettings: Sendable {
    /// `--api-keys FILE`: authentication is on when this (or a JWT key set) is given.
    public var apiKeysFile: String?
    /// `--jwt-jwks` and its issuer and audience: bearer JWTs are accepted.
    public var jwt: JWTSettings?
    /// `--rate-limit`: per credential (default `defaultRateLimit` when
    /// authenticating), or per client address when not authenticating.
    public var rateLimit: RateLimit?
    /// `--protect-health`: probes need a credential with the `health` scope too.
    public var protectHealth = false

    public static let defaultRateLimit = RateLimit(perSecond: 200)

    public init(apiKeysFile: String? = nil, jwt: JWTSettings? = nil, rateLimit: RateLimit? = nil, protectHealth: Bool = false) {
        self.apiKeysFile = apiKeysFile
        self.jwt = jwt
        self.rateLimit = rateLimit
        self.protectHealth = protectHealth
    }

    public var authenticates: Bool { apiKeysFile != nil || jwt != nil }
}

/// Why a request was refused, with what the frontend adds to its answer.
public struct AccessRefusal: Error, Sendable {
    public var error: FerryError
    /// HTTP `WWW-Authenticate` for 401 and 403 (RFC 6750).
    public var challenge: String?
    /// Whole seconds to wait, for `Retry-After` on 429.
    public var retryAfter: Int?
}

/// Decides every request on every endpoint: which credential sent it, whether
/// that credential holds the scope of the request's API group, and whether
/// its rate limit lets it through. Frontends ask `check` with what they read
/// from the request; the rules are here once.
public final class AccessControl: Sendable {
    public let settings: AccessSettings
    private let keys: WatchedFile<APIKeys>?
    private let tokens: (verifier: JWTVerifier, keys: WatchedFile<JSONWebKeySet>)?
    private let limiter = RateLimiter()
    private let logger: Logger

    public init(_ settings: AccessSettings, logger: Logger) throws(FerryError) {
        self.settings = settings
        self.logger = logger
        if let path = settings.apiKeysFile {
            keys = try WatchedFile("API keys", paths: [path], logger: logger) { () throws(FerryError) in try APIKeys(file: path) }
        } else {
            keys = nil
        }
        if let jwt = settings.jwt {
            let path = jwt.keySetFile
            tokens = (
                JWTVerifier(settings: jwt),
                try WatchedFile("JSON Web Key Set", paths: [path], logger: logger) { () throws(FerryError) in try JSONWebKeySet(file: path) }
            )
        } else {
            tokens = nil
        }
    }

    /// Whether requests need a credential at all.
    public var authenticates: Bool { settings.authenticates }

    /// Whether `check` can refuse anything (tests and frontends skip the work otherwise).
    public var isActive: Bool { authenticates || settings.rateLimit != nil }

    /// The credential allowed to make a request of `scope` (nil without
    /// authentication, and for open health checks), or why not.
    /// - Parameters:
    ///   - scope: the request's API group; nil for a path no route matches,
    ///     which needs a valid credential and then answers "not found".
    ///   - authorization: the `Authorization` header or metadata as sent.
    ///   - client: the client's address, which keys rate limits without authentication.
    public func check(scope: Scope?, authorization: String?, client: String?) -> Result<Credential?, AccessRefusal> {
        let exempt = scope == .health || scope == .metrics
        if scope == .health && !settings.protectHealth { return .success(nil) }
        guard authenticates else {
            if let limit = settings.rateLimit, !exempt, let client, let wait = limiter.take("address:\(client)", limit: limit) {
                return .failure(refuse(.rateLimited(wait), scope: scope, who: "client \(client)"))
            }
            return .success(nil)
        }
        guard let authorization, !authorization.isEmpty else {
            return .failure(refuse(.missing, scope: scope, who: nil))
        }
        guard let token = Self.bearerToken(authorization) else {
            return .failure(refuse(.malformed, scope: scope, who: nil))
        }
        let credential: Credential
        if let known = keys?.current.credential(for: token) {
            credential = known
        } else if let tokens, JWTVerifier.looksLikeJWT(token) {
            do {
                credential = try tokens.verifier.verify(token, keys: tokens.keys.current)
            } catch {
                return .failure(refuse(.token(error), scope: scope, who: nil))
            }
        } else {
            return .failure(refuse(.invalid, scope: scope, who: nil))
        }
        if let scope, !credential.scopes.contains(scope) {
            return .failure(refuse(.lacksScope(scope), scope: scope, who: credential.name))
        }
        let limit = credential.rateLimit ?? settings.rateLimit ?? AccessSettings.defaultRateLimit
        if !exempt, let wait = limiter.take(credential.owner, limit: limit) {
            return .failure(refuse(.rateLimited(wait), scope: scope, who: "'\(credential.name)'"))
        }
        return .success(credential)
    }

    /// The token of `Bearer TOKEN` (the scheme in any case, RFC 7235).
    static func bearerToken(_ authorization: String) -> Substring? {
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].drop { $0 == " " }
        return token.isEmpty ? nil : token
    }

    private enum Reason {
        case missing, malformed, invalid
        case token(JWTVerifier.Failure)
        case lacksScope(Scope)
        case rateLimited(Double)

        var label: String {
            switch self {
            case .missing: "missing_credential"
            case .malformed: "malformed_credential"
            case .invalid: "invalid_credential"
            case .token(.expired): "expired_token"
            case .token: "invalid_token"
            case .lacksScope: "insufficient_scope"
            case .rateLimited: "rate_limited"
            }
        }
    }

    private func refuse(_ reason: Reason, scope: Scope?, who: String?) -> AccessRefusal {
        Counter(label: "ferry_access_refused_total", dimensions: [("reason", reason.label), ("scope", scope?.rawValue ?? "none")])
            .increment()
        // Refusals can come by the thousand from one client: debug, with the count in metrics.
        logger.debug("refused", metadata: ["reason": "\(reason.label)", "scope": "\(scope?.rawValue ?? "none")", "who": "\(who ?? "-")"])
        let realm = "Bearer realm=\"ferry\""
        let accepted = [keys == nil ? nil : "an API key", tokens == nil ? nil : "a JWT"].compactMap { $0 }.joined(separator: " or ")
        switch reason {
        case .missing:
            return AccessRefusal(
                error: FerryError(.unauthenticated, "this server needs a credential: send 'Authorization: Bearer' and \(accepted)"),
                challenge: realm)
        case .malformed:
            return AccessRefusal(
                error: FerryError(.unauthenticated, "the Authorization header must be 'Bearer' followed by \(accepted)"),
                challenge: "\(realm), error=\"invalid_request\"")
        case .invalid:
            return AccessRefusal(
                error: FerryError(.unauthenticated, "the \(keys == nil ? "bearer token" : "API key") is not valid"),
                challenge: "\(realm), error=\"invalid_token\"")
        case .token(let failure):
            return AccessRefusal(
                error: FerryError(.unauthenticated, failure.message), challenge: "\(realm), error=\"invalid_token\"")
        case .lacksScope(let scope):
            return AccessRefusal(
                error: FerryError(.permissionDenied, "the credential '\(who ?? "")' lacks the '\(scope.rawValue)' scope this request needs"),
                challenge: "\(realm), error=\"insufficient_scope\", scope=\"\(scope.rawValue)\"")
        case .rateLimited(let wait):
            let seconds = max(1, Int(wait.rounded(.up)))
            return AccessRefusal(
                error: FerryError(.rateLimited, "rate limit exceeded for \(who ?? "this client"); retry in \(seconds) s"),
                retryAfter: seconds)
        }
    }
}
