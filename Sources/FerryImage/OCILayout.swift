import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/`),
/// as `umoci`, `skopeo copy oci:DIR:TAG` and `podman load` read it.
public struct OCILayout: Sendable {
    public let root: URL

    /// Opens the layout at `root`, creating it unless `create` is false.
    public init(root: URL, create: Bool = true) throws(FerryError) {
        self.root = root
        if !create {
            guard FileSystem.isRegularFile(root.appendingPathComponent("oci-layout").path) else {
                throw FerryError(.notFound, "'\(root.path)' is not an OCI image layout (it has no oci-layout file)")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
            let marker = root.appendingPathComponent("oci-layout")
            if !FileManager.default.fileExists(atPath: marker.path) {
                try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: marker)
            }
        } catch {
            throw FerryError(.failedPrecondition, "cannot write an OCI layout at '\(root.path)': \(FerryError.describe(error))")
        }
    }

    var blobs: URL { root.appendingPathComponent("blobs/sha256") }

    public func blobURL(_ digest: Digest) -> URL { blobs.appendingPathComponent(digest.hex) }

    public func hasBlob(_ digest: Digest) -> Bool { FileManager.default.fileExists(atPath: blobURL(digest).path) }

    /// A fresh file in the layout for a blob being written; `commit` names it by digest.
    func temporaryBlob() -> URL { blobs.appendingPathComponent(".tmp-\(RandomIdentifier.uuid())") }

    func commit(_ temporary: URL, as digest: Digest) throws(FerryError) {
        let target = blobURL(digest)
        do {
            if FileManager.default.fileExists(atPath: target.path) {
                try FileManager.default.removeItem(at: temporary)
            } else {
                try FileManager.default.moveItem(at: temporary, to: target)
            }
        } catch {
            throw FerryError(.internal, "cannot store blob \(digest): \(FerryError.describe(error))")
        }
    }

    @discardableResult
    public func putBlob(_ data: Data) throws(FerryError) -> Digest {
        let digest = Digest.of(data)
        guard !hasBlob(digest) else { return digest }
        let temporary = temporaryBlob()
        do {
            try data.write(to: temporary)
        } catch {
            throw FerryError(.internal, "cannot write blob \(digest): \(FerryError.describe(error))")
        }
        try commit(temporary, as: digest)
        return digest
    }

    public func blob(_ digest: Digest) throws(FerryError) -> Data {
        do {
            return try Data(contentsOf: blobURL(digest))
        } catch {
            throw FerryError(.notFound, "blob \(digest) is not in '\(root.path)'")
        }
    }

    /// A JSON document stored as a blob, decoded; `what` names it in errors.
    func decode<Document: Decodable>(_ digest: Digest, as what: String) throws(FerryError) -> Document {
        let data = try blob(digest)
        do {
            return try JSONDecoder().decode(Document.self, from: data)
        } catch {
            throw FerryError(.invalidArgument, "blob \(digest) in '\(root.path)' is not \(what): \(error)")
        }
    }

    /// Names `manifest` in `index.json` as `tag`, replacing what had that name.
    public func tag(_ manifest: Descriptor, as tag: String) throws(FerryError) {
        var index = (try? readIndex()) ?? ImageIndex(manifests: [])
        let key = "org.opencontainers.image.ref.name"
        index.manifests.removeAll { $0.annotations?[key] == tag }
        var named = manifest
        named.annotations = (manifest.annotations ?? [:]).merging([key: tag]) { $1 }
        index.manifests.append(named)
        do {
            try CanonicalJSON.encode(index).write(to: root.appendingPathComponent("index.json"), options: .atomic)
        } catch let error as FerryError {
            throw error
        } catch {
            throw FerryError(.internal, "cannot write index.json: \(FerryError.describe(error))")
        }
    }

    public func readIndex() throws(FerryError) -> ImageIndex {
        do {
            return try JSONDecoder().decode(ImageIndex.self, from: Data(contentsOf: root.appendingPathComponent("index.json")))
        } catch {
            throw FerryError(.notFound, "'\(root.path)' has no readable index.json: \(FerryError.describe(error))")
        }
    }

    /// The manifest tagged `tag` (or the only one).
    public func manifest(tagged tag: String?) throws(FerryError) -> (Descriptor, ImageManifest) {
        let index = try readIndex()
        let key = "org.opencontainers.image.ref.name"
        guard let descriptor = tag.map({ tag in index.manifests.first { $0.annotations?[key] == tag } }) ?? index.manifests.first
        else { throw FerryError(.notFound, "no image tagged '\(tag ?? "")' in '\(root.path)'") }
        do {
            return (descriptor, try JSONDecoder().decode(ImageManifest.self, from: blob(descriptor.digest)))
        } catch let error as FerryError {
            throw error
        } catch {
            throw FerryError(.invalidArgument, "manifest \(descriptor.digest) in '\(root.path)' is not an OCI image manifest: \(error)")
        }
    }
}
