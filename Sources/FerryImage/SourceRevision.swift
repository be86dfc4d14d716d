import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `org.opencontainers.image.source` and `.revision` from the git work tree
/// that holds the model repository, when there is one and git is installed.
package enum SourceRevision {
    static func labels(of repository: URL) -> [String: String] {
        let directory = FileSystem.isDirectory(repository.path) ? repository.path : repository.deletingLastPathComponent().path
        var labels: [String: String] = [:]
        if let revision = git(["-C", directory, "rev-parse", "HEAD"]) { labels["org.opencontainers.image.revision"] = revision }
        if let remote = git(["-C", directory, "config", "--get", "remote.origin.url"]) {
            labels["org.opencontainers.image.source"] = withoutCredentials(remote)
        }
        return labels
    }

    /// `https://user:token@host/x` → `https://host/x`: a label is public.
    package static func withoutCredentials(_ url: String) -> String {
        guard let scheme = url.firstRange(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<scheme.upperBound]) + rest[rest.index(after: at)...]
    }

    private static func git(_ arguments: [String]) -> String? {
        guard let result = try? ChildProcess.run(["git"] + arguments), result.status == 0 else { return nil }
        let text = result.outputText.trimmingWhitespace
        return text.isEmpty ? nil : text
    }
}
