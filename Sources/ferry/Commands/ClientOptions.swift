import ArgumentParser
import FerryClient

/// How `ferry infer`, `bench` and `health` reach a server that checks
/// credentials or serves TLS (`https://`, `grpcs://`).
struct ClientOptions: ParsableArguments {
    @Option(
        name: .customLong("token"),
        help: ArgumentHelp("An API key or JWT, sent as 'Authorization: Bearer' (default: $FERRY_TOKEN).", valueName: "token"))
    var tokenOption: String?

    @Option(name: .customLong("ca-cert"), help: ArgumentHelp("PEM CA certificates to verify the server with (default: the system's).", valueName: "file"))
    var caCert: String?

    @Flag(help: "Do not verify the server's certificate (for a server reached over loopback, as a container checks itself).")
    var insecure = false

    @Option(name: .customLong("client-cert"), help: ArgumentHelp("PEM client certificate, for mutual TLS.", valueName: "file"))
    var clientCert: String?

    @Option(name: .customLong("client-key"), help: ArgumentHelp("PEM private key of --client-cert.", valueName: "file"))
    var clientKey: String?

    func validate() throws {
        guard (clientCert == nil) == (clientKey == nil) else { throw ValidationError("--client-cert and --client-key go together") }
    }

    var security: ClientSecurity {
        ClientSecurity(
            token: tokenOption ?? Environment.string("FERRY_TOKEN"), caFile: caCert, insecure: insecure, certificateFile: clientCert,
            keyFile: clientKey)
    }
}
