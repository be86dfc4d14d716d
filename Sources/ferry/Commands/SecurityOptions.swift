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
        AccessSettings(apiKeysFile: apiKeys, rateLimit: rateLimitText.flatMap { try? RateLimit($0) }, protectHealth: protectHealth)
    }
}
