import ArgumentParser
import FerryCore
import FerrySecurity

/// `ferry serve`'s options for TLS, authentication and rate limits.
struct SecurityOptions: ParsableArguments {
    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("PEM certificate chain: serve HTTPS and gRPC over TLS.", valueName: "file"))
    var tlsCertOption: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("PEM private key of --tls-cert.", valueName: "file"))
    var tlsKeyOption: String?

    @Option(
        name: .customLong("tls-client-ca"),
        help: ArgumentHelp("PEM CA certificates that client certificates must chain to (mutual TLS).", valueName: "file"))
    var tlsClientCAOption: String?

    @Option(
        name: .customLong("tls-client-auth"),
        help: ArgumentHelp("none, optional or required (default: required with --tls-client-ca).", valueName: "mode"))
    var tlsClientAuthOption: String?

    @Flag(help: "Serve the metrics port over TLS too (it stays plain HTTP otherwise).")
    var metricsTls = Environment.string("FERRY_METRICS_TLS") == "1"

    @Option(
        name: .customLong("api-keys"),
        help: ArgumentHelp(
            "Turns authentication on: one key per line, 'NAME SCOPES sha256:DIGEST [rate=LIMIT]' (see ferry api-key); reloaded when it changes.",
            valueName: "file"))
    var apiKeysOption: String?

    @Option(
        name: .customLong("jwt-jwks"),
        help: ArgumentHelp(
            "Accept JWT bearer tokens (RS256, ES256, EdDSA) signed by a key of this JSON Web Key Set; reloaded when it changes.",
            valueName: "file"))
    var jwtJWKSOption: String?

    @Option(name: .customLong("jwt-issuer"), help: ArgumentHelp("The 'iss' a token must carry (with --jwt-jwks).", valueName: "issuer"))
    var jwtIssuerOption: String?

    @Option(
        name: .customLong("jwt-audience"), help: ArgumentHelp("The 'aud' a token must be meant for (with --jwt-jwks).", valueName: "audience"))
    var jwtAudienceOption: String?

    @Option(
        name: .customLong("rate-limit"),
        help: ArgumentHelp(
            "Requests per credential (default 200/s with authentication), or per client address without it (default: none).",
            valueName: "limit"))
    var rateLimitOption: String?

    @Flag(help: "Health checks need a credential with the 'health' scope too (open by default, for probes).")
    var protectHealth = Environment.string("FERRY_PROTECT_HEALTH") == "1"

    var tlsCert: String? { tlsCertOption ?? Environment.string("FERRY_TLS_CERT") }
    var tlsKey: String? { tlsKeyOption ?? Environment.string("FERRY_TLS_KEY") }
    var tlsClientCA: String? { tlsClientCAOption ?? Environment.string("FERRY_TLS_CLIENT_CA") }
    var tlsClientAuth: String? { tlsClientAuthOption ?? Environment.string("FERRY_TLS_CLIENT_AUTH") }
    var apiKeys: String? { apiKeysOption ?? Environment.string("FERRY_API_KEYS") }
    var jwtJWKS: String? { jwtJWKSOption ?? Environment.string("FERRY_JWT_JWKS") }
    var jwtIssuer: String? { jwtIssuerOption ?? Environment.string("FERRY_JWT_ISSUER") }
    var jwtAudience: String? { jwtAudienceOption ?? Environment.string("FERRY_JWT_AUDIENCE") }
    var rateLimitText: String? { rateLimitOption ?? Environment.string("FERRY_RATE_LIMIT") }

    func validate() throws {
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        if tlsCert == nil && (tlsClientCA != nil || tlsClientAuth != nil || metricsTls) {
            throw ValidationError("--tls-client-ca, --tls-client-auth and --metrics-tls need --tls-cert and --tls-key")
        }
        if let mode = tlsClientAuth {
            guard let parsed = TLSSettings.ClientAuthentication(rawValue: mode) else {
                throw ValidationError("--tls-client-auth must be none, optional or required, not '\(mode)'")
            }
            if parsed != .none && tlsClientCA == nil { throw ValidationError("--tls-client-auth \(mode) needs --tls-client-ca") }
        }
        if [jwtJWKS, jwtIssuer, jwtAudience].contains(where: { $0 != nil }) && [jwtJWKS, jwtIssuer, jwtAudience].contains(where: { $0 == nil }) {
            throw ValidationError("--jwt-jwks, --jwt-issuer and --jwt-audience go together: a token is accepted only from that issuer for that audience")
        }
        if let text = rateLimitText {
            do { _ = try RateLimit(text) } catch { throw ValidationError("--rate-limit: \(error.message)") }
        }
    }

    var tls: TLSSettings? {
        guard let tlsCert, let tlsKey else { return nil }
        return TLSSettings(
            certificateFile: tlsCert, keyFile: tlsKey, clientCAFile: tlsClientCA,
            clientAuthentication: tlsClientAuth.flatMap(TLSSettings.ClientAuthentication.init(rawValue:)), securesMetrics: metricsTls)
    }

    var access: AccessSettings {
        var jwt: JWTSettings?
        if let jwtJWKS, let jwtIssuer, let jwtAudience { jwt = JWTSettings(keySetFile: jwtJWKS, issuer: jwtIssuer, audience: jwtAudience) }
        return AccessSettings(
            apiKeysFile: apiKeys, jwt: jwt, rateLimit: rateLimitText.flatMap { try? RateLimit($0) }, protectHealth: protectHealth)
    }
}
