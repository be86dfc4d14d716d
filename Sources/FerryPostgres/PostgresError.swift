/// Why a PostgreSQL call failed. `isConnectionFailure` separates "the
/// database is not there right now" (retry later, answer 503) from "the
/// database refused this statement".
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// No connection, or the connection broke: the statement may or may not have run.
        case connection
        /// The server answered with an ErrorResponse.
        case server
        /// The server sent something this client does not understand, or authentication failed.
        case protocolViolation
        /// The configuration (DSN, password, TLS files) is unusable.
        case configuration
    }

    public var kind: Kind
    public var message: String
    /// The five-character SQLSTATE of a server error ("" otherwise).
    public var sqlState: String
    public var detail: String?

    public init(_ kind: Kind, _ message: String, sqlState: String = "", detail: String? = nil) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
    }

    /// The server is going away or cannot take the session: class 08
    /// (connection exception), 57P01-57P03 (shutdown, crash, starting up), 53300
    /// (too many connections).
    public var isConnectionFailure: Bool {
        switch kind {
        case .connection: true
        case .server: sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03", "53300"].contains(sqlState)
        case .protocolViolation, .configuration: false
        }
    }

    public var description: String {
        var text = message
        if !sqlState.isEmpty { text += " (SQLSTATE \(sqlState))" }
        if let detail, !detail.isEmpty { text += ": \(detail)" }
        return text
    }
}
