import FerryCore

/// `REGISTRY/REPOSITORY[:TAG|@DIGEST]`, as `docker push` names an image.
/// The registry part is required (Ferry does not guess Docker Hub).
public struct ImageReference: Sendable, Hashable, CustomStringConvertible {
    public var registry: String
    public var repository: String
    public var tag: String?
    public var digest: Digest?

    public init(parsing text: String) throws(FerryError) {
        let fail = { (why: String) in
            FerryError(.invalidArgument, "'\(text)' is not an image reference REGISTRY/REPOSITORY[:TAG|@DIGEST]: \(why)")
        }
        var rest = Substring(text)
        if let at = rest.firstIndex(of: "@") {
            digest = try Digest(parsing: String(rest[rest.index(after: at)...]))
            rest = rest[..<at]
        }
        guard let slash = rest.firstIndex(of: "/") else { throw fail("no registry") }
        registry = String(rest[..<slash])
        var path = rest[rest.index(after: slash)...]
        if let colon = path.lastIndex(of: ":") {
            tag = String(path[path.index(after: colon)...])
            path = path[..<colon]
        }
        repository = String(path)
        guard !registry.isEmpty, registry.contains(".") || registry.contains(":") || registry == "localhost" else {
            throw fail("'\(registry)' does not look like a registry host (give HOST[:PORT]/REPOSITORY)")
        }
        guard !repository.isEmpty,
            repository.allSatisfy({ $0.isLowercase || $0.isNumber || "._-/".contains($0) })
        else { throw fail("the repository must be lowercase letters, digits and . _ - /") }
        if let tag, tag.isEmpty || tag.count > 128 || !tag.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) {
            throw fail("bad tag '\(tag)'")
        }
        if tag == nil && digest == nil { tag = "latest" }
    }

    /// The tag, or the digest, that names the manifest in the registry's URLs.
    public var reference: String { digest?.description ?? tag ?? "latest" }

    public var description: String {
        "\(registry)/\(repository)" + (tag.map { ":\($0)" } ?? "") + (digest.map { "@\($0)" } ?? "")
    }
}
