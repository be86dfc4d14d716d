import AsyncHTTPClient
import Crypto
import FerryCore
import NIOCore
import NIOHTTP1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A base image pulled into a layout: the manifest chosen for the platform,
/// its layers (kept as they are, with Docker's media types given their OCI
/// names) and its configuration.
public struct PulledImage: Sendable {
    public var reference: ImageReference
    /// The digest of the platform's image manifest (not of an index above it).
    public var manifestDigest: Digest
    public var layers: [Descriptor]
    public var configuration: ImageConfiguration

    /// `REGISTRY/REPOSITORY@sha256:…`, what `org.opencontainers.image.base.name` records.
    public var pinnedName: String { "\(reference.registry)/\(reference.repository)@\(manifestDigest)" }
}

extension RegistryClient {
    /// Pulls `reference` for `platform` into `layout` (distribution spec,
    /// "Pulling manifests" and "Pulling blobs"). An image index or Docker
    /// manifest list is resolved to the entry for the platform. Every
    /// document and blob is checked against its digest; blobs the layout
    /// already holds are not downloaded again.
    public func pull(_ reference: ImageReference, platform: Platform = .current, into layout: OCILayout) async throws(FerryError)
        -> PulledImage
    {
        let scopes = [Self.pullScope(reference.repository)]
        try await checkVersion()
        var (mediaType, body, digest) = try await fetchManifest(reference.repository, reference.reference, scopes: scopes)
        if mediaType == MediaType.index || mediaType == MediaType.dockerManifestList {
            let index = try Self.decode(ImageIndex.self, body, what: "an image index", reference: reference)
            let candidates = index.manifests.filter { $0.platform.map(platform.accepts) ?? false }
            guard let chosen = candidates.first else {
                let offered = index.manifests.compactMap { $0.platform?.description }
                throw FerryError(
                    .notFound,
                    "\(reference) has no image for \(platform) (it offers \(offered.isEmpty ? "no platforms" : offered.joined(separator: ", ")))"
                )
            }
            (mediaType, body, digest) = try await fetchManifest(reference.repository, chosen.digest.description, scopes: scopes)
        }
        guard mediaType == MediaType.manifest || mediaType == MediaType.dockerManifest else {
            throw FerryError(.invalidArgument, "\(reference) is a \(mediaType) document, not an image manifest Ferry can build on")
        }
        let manifest = try Self.decode(ImageManifest.self, body, what: "an image manifest", reference: reference)
        _ = try layout.putBlob(body)

        let config = try await download(
            manifest.config, title: "base config", repository: reference.repository, scopes: scopes, into: layout)
        let configuration = try Self.decode(ImageConfiguration.self, config, what: "an image configuration", reference: reference)
        guard configuration.os == platform.os, configuration.architecture == platform.architecture else {
            throw FerryError(
                .invalidArgument, "\(reference) is an image for \(configuration.os)/\(configuration.architecture), not \(platform)")
        }
        guard configuration.rootfs.diff_ids.count == manifest.layers.count else {
            throw FerryError(
                .invalidArgument,
                "\(reference)'s configuration lists \(configuration.rootfs.diff_ids.count) layers and its manifest \(manifest.layers.count)"
            )
        }
        var layers: [Descriptor] = []
        for (index, layer) in manifest.layers.enumerated() {
            guard !MediaType.foreignLayers.contains(layer.mediaType) else {
                throw FerryError(.invalidArgument, "\(reference) has a foreign (non-distributable) layer, as Windows images do")
            }
            if !layout.hasBlob(layer.digest) {
                _ = try await download(
                    layer, title: "base layer \(index + 1)/\(manifest.layers.count)", repository: reference.repository, scopes: scopes,
                    into: layout, keep: false)
            }
            var converted = layer
            converted.mediaType = MediaType.ociLayer(layer.mediaType)
            layers.append(converted)
        }
        return PulledImage(reference: reference, manifestDigest: digest, layers: layers, configuration: configuration)
    }

    /// GET of a manifest with every kind Ferry reads in `Accept`; returns its
    /// media type, bytes and digest, checked when asked for by digest.
    func fetchManifest(_ repository: String, _ reference: String, scopes: [String]) async throws(FerryError) -> (
        String, Data, Digest
    ) {
        let response = try await retrying("fetching the manifest \(repository):\(reference)") { () async throws(FerryError) in
            try await send(
                .GET, "/v2/\(repository)/manifests/\(reference)", scopes: scopes,
                headers: ["Accept": MediaType.manifests.joined(separator: ", ")], expecting: [200])
        }
        let digest = Digest.of(response.body)
        if reference.hasPrefix("sha256:"), reference != digest.description {
            throw FerryError(.invalidArgument, "\(registry) sent a manifest for \(repository)@\(reference) whose digest is \(digest)")
        }
        let contentType = response.headers.first(name: "Content-Type")?.split(separator: ";").first.map { $0.trimmingWhitespace }
        let stated = (try? JSONParser.parse(response.body))?["mediaType"]?.stringValue
        guard let mediaType = stated ?? contentType else {
            throw FerryError(.invalidArgument, "\(registry) sent the manifest \(repository):\(reference) without a media type")
        }
        return (mediaType, response.body, digest)
    }

    /// Streams a blob into `layout`, hashing it as it comes; a blob whose
    /// size or digest differs from its descriptor is refused. Returns the
    /// bytes when `keep` (a config), nothing otherwise.
    @discardableResult
    func download(
        _ blob: Descriptor, title: String, repository: String, scopes: [String], into layout: OCILayout, keep: Bool = true
    ) async throws(FerryError) -> Data {
        try await retrying("downloading \(title)") { () async throws(FerryError) in
            let (response, url) = try await perform(
                .GET, "/v2/\(repository)/blobs/\(blob.digest)", scopes: scopes, headers: [:], body: nil, timeout: .hours(6))
            guard response.status == .ok else {
                let body = (try? await response.body.collect(upTo: 1 << 20)).map { Data($0.readableBytesView) } ?? Data()
                throw Self.failure(method: .GET, url: url, status: response.status, body: body)
            }
            let temporary = layout.temporaryBlob()
            let output = try OutputFile(temporary.path)
            var hash = SHA256()
            var size = 0
            var kept = Data()
            progress.begin("downloading \(title)", total: blob.size)
            defer { progress.end() }
            do {
                for try await buffer in response.body {
                    let bytes = Data(buffer.readableBytesView)
                    hash.update(data: bytes)
                    size += bytes.count
                    guard size <= blob.size else { break }
                    try output.write(bytes)
                    if keep { kept.append(contentsOf: bytes) }
                    progress.advance(by: bytes.count)
                }
            } catch let error as FerryError {
                try? FileManager.default.removeItem(at: temporary)
                throw error
            } catch {
                try? FileManager.default.removeItem(at: temporary)
                throw FerryError(.unavailable, "the download of \(blob.digest) from \(registry) broke off: \(error)")
            }
            let digest = Digest(hash.finalize())
            guard size == blob.size, digest == blob.digest else {
                try? FileManager.default.removeItem(at: temporary)
                throw FerryError(
                    .invalidArgument, "\(registry) sent \(size) bytes with digest \(digest) for \(blob.digest) (\(blob.size) bytes)")
            }
            try layout.commit(temporary, as: digest)
            return kept
        }
    }

    static func decode<Document: Decodable>(_ type: Document.Type, _ data: Data, what: String, reference: ImageReference) throws(FerryError)
        -> Document
    {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw FerryError(.invalidArgument, "\(reference): the registry's document is not \(what): \(error)")
        }
    }
}
