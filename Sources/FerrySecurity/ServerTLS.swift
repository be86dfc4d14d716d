import FerryCore
import Logging
import NIOSSL

/// `--tls-cert`, `--tls-key` and, for mutual TLS, `--tls-client-ca` with `--tls-client-auth`.
public struct TLSSettings: Sendable {
    public enum ClientAuthentication: String, Sendable, CaseIterable {
        /// Client certificates are not asked for.
        case none
        /// A client may present a certificate; one that does not verify is refused.
        case optional
        /// Every client must present a certificate that verifies against the client CA.
        case required
    }

    public var certificateFile: String
    public var keyFile: String
    public var clientCAFile: String?
    public var clientAuthentication: ClientAuthentication
    /// `--metrics-tls`: the metrics port serves TLS too (it stays plain otherwise).
    public var securesMetrics: Bool

    public init(
        certificateFile: String, keyFile: String, clientCAFile: String? = nil, clientAuthentication: ClientAuthentication? = nil,
        securesMetrics: Bool = false
    ) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
        self.clientAuthentication = clientAuthentication ?? (clientCAFile == nil ? .none : .required)
        self.securesMetrics = securesMetrics
    }
}

/// One endpoint's TLS: a new connection gets a handler made from the
/// certificate, key and client CA as their files read now, so a certificate
/// rotated in place (cert-manager, a renewed Secret) is served to the next
/// connection while those already open keep theirs. TLS 1.2 at least.
public final class ServerTLS: Sendable {
    private let context: WatchedFile<NIOSSLContext>

    /// - Parameter applicationProtocols: ALPN, in the server's order of preference.
    public init(_ settings: TLSSettings, applicationProtocols: [String], logger: Logger) throws(FerryError) {
        if settings.clientAuthentication != .none && settings.clientCAFile == nil {
            throw FerryError(.invalidArgument, "--tls-client-auth \(settings.clientAuthentication.rawValue) needs --tls-client-ca")
        }
        let paths = [settings.certificateFile, settings.keyFile] + (settings.clientCAFile.map { [$0] } ?? [])
        context = try WatchedFile("TLS certificate", paths: paths, logger: logger) { () throws(FerryError) in
            try Self.makeContext(settings, applicationProtocols: applicationProtocols)
        }
    }

    /// The handler to put first in a new connection's pipeline.
    public func makeHandler() -> NIOSSLServerHandler {
        NIOSSLServerHandler(context: context.current)
    }

    /// TLS 1.2's forward-secret AEAD suites only (TLS 1.3's are all AEAD):
    /// no CBC, no RSA key exchange, no SHA-1 MACs, as Mozilla's intermediate
    /// profile. NIOSSL's defaults would also offer RSA+AES and CBC suites.
    static let cipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    static func makeContext(_ settings: TLSSettings, applicationProtocols: [String]) throws(FerryError) -> NIOSSLContext {
        func reading<T>(_ what: String, _ path: String, _ read: () throws -> T) throws(FerryError) -> T {
            do {
                return try read()
            } catch {
                throw FerryError(.invalidArgument, "cannot read the TLS \(what) \(path): \(error)")
            }
        }
        let chain = try reading("certificate", settings.certificateFile) { try NIOSSLCertificate.fromPEMFile(settings.certificateFile) }
        guard !chain.isEmpty else {
            throw FerryError(.invalidArgument, "the TLS certificate file \(settings.certificateFile) holds no PEM certificate")
        }
        let key = try reading("private key", settings.keyFile) { try NIOSSLPrivateKey(file: settings.keyFile, format: .pem) }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.cipherSuites = Self.cipherSuites
        configuration.applicationProtocols = applicationProtocols
        if let caFile = settings.clientCAFile {
            let roots = try reading("client CA", caFile) { try NIOSSLCertificate.fromPEMFile(caFile) }
            guard !roots.isEmpty else { throw FerryError(.invalidArgument, "the client CA file \(caFile) holds no PEM certificate") }
            configuration.trustRoots = .certificates(roots)
            configuration.certificateVerification =
                switch settings.clientAuthentication {
                case .required: .noHostnameVerification
                case .optional: .optionalVerification
                case .none: .none
                }
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            // BoringSSL checks here that the key belongs to the certificate.
            throw FerryError(
                .invalidArgument,
                "the TLS certificate \(settings.certificateFile) and key \(settings.keyFile) do not make a usable server: \(error)")
        }
    }
}
