import FerryCore

/// How a client proves who it is and whom it trusts: a bearer token (an API
/// key or a JWT) sent with every request, and for `https://` and `grpcs://`
/// servers the CA to verify them with (the system's by default) and a client
/// certificate for mutual TLS.
public struct ClientSecurity: Sendable {
    public var token: String?
    /// PEM certificates the server's certificate must chain to.
    public var caFile: String?
    /// Skips verifying the server's certificate: for a server reached over loopback only.
    public var insecure = false
    public var certificateFile: String?
    public var keyFile: String?

    public init(token: String? = nil, caFile: String? = nil, insecure: Bool = false, certificateFile: String? = nil, keyFile: String? = nil) {
        self.token = token
        self.caFile = caFile
        self.insecure = insecure
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    var authorization: String? { token.map { "Bearer \($0)" } }
}
