import FerryCore

/// Where and how to connect, read from a libpq-style URL:
/// `postgres://USER@HOST:PORT/DATABASE?sslmode=MODE&sslrootcert=FILE&connect_timeout=SECONDS&application_name=NAME`.
/// The password never comes from the URL: URLs end up in process listings,
/// logs and manifests. It is given apart (`password`).
public struct PostgresConfiguration: Sendable, Equatable {
    /// libpq's `sslmode`, with its meaning.
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS if the server offers it, unverified; plain otherwise (libpq's default).
        case prefer
        /// TLS, the server's certificate not verified.
        case require
        /// TLS, the certificate chain verified against `sslrootcert` (or the system's roots), not the host name.
        case verifyCA = "verify-ca"
        /// TLS, chain and host name verified.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var password: String?
    public var tlsMode: TLSMode
    public var rootCertificatePath: String?
    public var connectTimeout: Duration
    public var applicationName: String

    public init(
        host: String, port: Int = 5432, user: String, database: String, password: String? = nil, tlsMode: TLSMode = .prefer,
        rootCertificatePath: String? = nil, connectTimeout: Duration = .seconds(5), applicationName: String = "ferry"
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.database = database
        self.password = password
        self.tlsMode = tlsMode
        self.rootCertificatePath = rootCertificatePath
        self.connectTimeout = connectTimeout
        self.applicationName = applicationName
    }

    /// Whether `text` is meant as a PostgreSQL URL (rather than, say, a SQLite path).
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    public init(url text: String) throws(PostgresError) {
        guard let scheme = ["postgresql://", "postgres://"].first(where: { text.hasPrefix($0) }) else {
            throw Self.invalid(text, "it must start with postgres://")
        }
        var rest = Substring(text.dropFirst(scheme.count))
        var query = Substring("")
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var userPart = Substring("")
        if let at = rest.lastIndex(of: "@") {
            userPart = rest[..<at]
            rest = rest[rest.index(after: at)...]
        }
        guard !userPart.contains(":") else {
            throw Self.invalid(
                text, "it holds a password; give it in FERRY_JOB_STORE_PASSWORD or a file instead, so it stays out of process listings and logs")
        }
        guard let user = userPart.percentDecoded, !user.isEmpty else { throw Self.invalid(text, "it names no user (postgres://USER@HOST/DATABASE)") }
        var hostPart = rest
        var port = 5432
        if hostPart.hasPrefix("["), let close = hostPart.firstIndex(of: "]") {
            let after = hostPart[hostPart.index(after: close)...]
            hostPart = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
            if after.hasPrefix(":") {
                guard let value = Int(after.dropFirst()), (1...65535).contains(value) else { throw Self.invalid(text, "its port is not a number from 1 to 65535") }
                port = value
            }
        } else if let colon = hostPart.lastIndex(of: ":") {
            guard let value = Int(hostPart[hostPart.index(after: colon)...]), (1...65535).contains(value) else {
                throw Self.invalid(text, "its port is not a number from 1 to 65535")
            }
            port = value
            hostPart = hostPart[..<colon]
        }
        guard !hostPart.isEmpty else { throw Self.invalid(text, "it names no host") }
        guard let database = path.percentDecoded, !database.isEmpty else {
            throw Self.invalid(text, "it names no database (postgres://USER@HOST/DATABASE)")
        }
        self.init(host: String(hostPart), port: port, user: user, database: database)
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1)
            let name = String(parts[0])
            guard let value = parts.count == 2 ? parts[1].percentDecoded : "" else { throw Self.invalid(text, "its parameter '\(name)' is badly encoded") }
            switch name {
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else {
                    throw Self.invalid(text, "sslmode must be one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", ")), not '\(value)'")
                }
                tlsMode = mode
            case "sslrootcert": rootCertificatePath = value
            case "connect_timeout":
                guard let seconds = Int(value), seconds > 0 else { throw Self.invalid(text, "connect_timeout must be a number of seconds above 0") }
                connectTimeout = .seconds(seconds)
            case "application_name": applicationName = value
            default:
                throw Self.invalid(text, "the parameter '\(name)' is not one Ferry reads (sslmode, sslrootcert, connect_timeout, application_name)")
            }
        }
    }

    /// The URL without secrets, for logs and errors.
    public var displayURL: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)@\(shownHost):\(port)/\(database)?sslmode=\(tlsMode.rawValue)"
    }

    private static func invalid(_ text: String, _ reason: String) -> PostgresError {
        // The text is not echoed whole: a mistaken password would be logged.
        PostgresError(.configuration, "the PostgreSQL URL is not valid: \(reason)")
    }
}
