import FerryCore
import NIOHTTP1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension RegistryClient {
    /// What a push did with each blob.
    public struct PushReport: Sendable {
        public var uploaded: [Digest] = []
        public var uploadedBytes = 0
        /// Already in the destination repository.
        public var skipped: [Digest] = []
        /// Linked from the base image's repository in the same registry, without sending bytes.
        public var mounted: [Digest] = []
        public var manifestDigest: Digest?
    }

    /// Pushes what `layout` holds for `manifest` (distribution spec, "Pushing
    /// an image"): blobs first, each skipped when the repository has it
    /// (HEAD), then the manifest under the reference's tag or digest.
    ///
    /// A manifest built on a base image from the same registry names it in
    /// `org.opencontainers.image.base.name`; its blobs are then mounted from
    /// that repository (POST with `mount` and `from`) instead of uploaded.
    public func push(_ manifest: Descriptor, from layout: OCILayout, to reference: ImageReference) async throws(FerryError) -> PushReport {
        let document: ImageManifest = try layout.decode(manifest.digest, as: "an OCI image manifest")
        let repository = reference.repository
        let mountSource = document.annotations?[ImageAnnotation.baseName].flatMap { try? ImageReference(parsing: $0) }
            .flatMap { $0.registry == registry && $0.repository != repository ? $0.repository : nil }
        let scopes = [Self.pushScope(repository)] + (mountSource.map { [Self.pullScope($0)] } ?? [])
        try await checkVersion()
        var report = PushReport()
        for (index, blob) in ([document.config] + document.layers).enumerated() {
            let title = index == 0 ? "config" : blob.annotations?["org.opencontainers.image.title"] ?? blob.digest.description
            let present = try await retrying("checking \(blob.digest)") { () async throws(FerryError) in
                try await send(.HEAD, "/v2/\(repository)/blobs/\(blob.digest)", scopes: scopes, expecting: [200, 404]).status == .ok
            }
            if present {
                report.skipped.append(blob.digest)
                progress.message("\(title): already in \(registry)/\(repository)")
                continue
            }
            let mounted = try await retrying("uploading \(title)") { () async throws(FerryError) in
                try await upload(blob, title: title, from: layout, to: repository, mountingFrom: mountSource, scopes: scopes)
            }
            if mounted {
                report.mounted.append(blob.digest)
                progress.message("\(title): mounted from \(registry)/\(mountSource ?? "")")
            } else {
                report.uploaded.append(blob.digest)
                report.uploadedBytes += blob.size
            }
        }
        let body = try layout.blob(manifest.digest)
        let response = try await retrying("putting the manifest") { () async throws(FerryError) in
            try await send(
                .PUT, "/v2/\(repository)/manifests/\(reference.reference)", scopes: scopes, headers: ["Content-Type": manifest.mediaType],
                body: body, expecting: [201])
        }
        let stated = response.headers.first(name: "Docker-Content-Digest")
        guard stated == nil || stated == manifest.digest.description else {
            throw FerryError(.internal, "the registry stored the manifest as \(stated ?? "") instead of \(manifest.digest)")
        }
        report.manifestDigest = manifest.digest
        return report
    }

    /// POST to open an upload (or mount), then one PUT with the whole blob, or
    /// PATCH chunks following the newest `Location` each time and an empty
    /// PUT. Returns true when the registry mounted the blob instead.
    private func upload(
        _ blob: Descriptor, title: String, from layout: OCILayout, to repository: String, mountingFrom source: String?, scopes: [String]
    ) async throws(FerryError) -> Bool {
        var path = "/v2/\(repository)/blobs/uploads/"
        if let source { path += "?mount=\(blob.digest.description.percentEncodedQueryValue)&from=\(source.percentEncodedQueryValue)" }
        let opened = try await send(.POST, path, scopes: scopes, expecting: [201, 202])
        if opened.status == .created { return true }
        var location = try location(opened, after: "POST", url: path)
        let file = layout.blobURL(blob.digest)
        guard FileSystem.isRegularFile(file.path) else { throw FerryError(.notFound, "blob \(blob.digest) is missing from the layout") }
        let input = try InputFile(file.path)
        progress.begin("uploading \(title)", total: blob.size)
        defer { progress.end() }
        if blob.size > chunkSize {
            var offset = 0
            while offset < blob.size {
                let chunk = try input.read(upTo: chunkSize)
                guard !chunk.isEmpty else {
                    throw FerryError(.internal, "blob \(blob.digest) is shorter in the layout than its descriptor says")
                }
                let response = try await send(
                    .PATCH, location, scopes: scopes,
                    headers: ["Content-Type": "application/octet-stream", "Content-Range": "\(offset)-\(offset + chunk.count - 1)"],
                    body: chunk, expecting: [202])
                offset += chunk.count
                location = try self.location(response, after: "PATCH", url: location)
                progress.advance(by: chunk.count)
            }
            _ = try await send(.PUT, Self.appendingDigest(location, blob.digest), scopes: scopes, expecting: [201])
        } else {
            let body = try input.read(upTo: blob.size)
            _ = try await send(
                .PUT, Self.appendingDigest(location, blob.digest), scopes: scopes, headers: ["Content-Type": "application/octet-stream"],
                body: body, expecting: [201])
            progress.advance(by: body.count)
        }
        return false
    }

    /// The upload's next URL: registries answer with an absolute URL or a
    /// path, which is resolved against the request's URL.
    func location(_ response: Response, after method: String, url: String) throws(FerryError) -> String {
        guard let location = response.headers.first(name: "Location") else {
            throw FerryError(.internal, "the registry answered a blob upload \(method) without a Location")
        }
        return Self.resolve(location, against: url.hasPrefix("http") ? url : "\(scheme)://\(registry)\(url)")
    }

    static func appendingDigest(_ location: String, _ digest: Digest) -> String {
        location + (location.contains("?") ? "&" : "?") + "digest=" + digest.description.percentEncodedQueryValue
    }
}
