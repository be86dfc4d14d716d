import ArgumentParser
import FerryCore
import FerrySecurity

struct APIKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-key",
        abstract: "Make a new API key and its line for the --api-keys file.",
        discussion: """
            Prints the key on the first line of standard output and the line to add to the keys file on the \
            second. The file holds only the key's SHA-256 digest: keep the key itself where the client reads it, \
            as nothing can show it again. Scopes: \(Scope.allCases.map(\.rawValue).joined(separator: ", ")), or * for all.
            """
    )

    @Argument(help: "The key's name, as logs and job ownership show it.")
    var name: String

    @Option(help: ArgumentHelp("What the key may do, comma-separated.", valueName: "scopes"))
    var scopes = "metadata,infer"

    @Option(help: ArgumentHelp("This key's own rate limit (200/s, 600/m or none) instead of the server's.", valueName: "limit"))
    var rateLimit: String?

    func run() throws {
        try reportingFailures {
            let key = "fk_" + RandomIdentifier.token()
            let line = APIKeys.line(
                name: name, scopes: try Scope.list(scopes), key: key, rateLimit: try rateLimit.map { try RateLimit($0) })
            // Read back as the server will, so a bad name fails here and not at the server's start.
            _ = try APIKeys(text: line, file: "the new line")
            print(key)
            print(line)
        }
    }
}
