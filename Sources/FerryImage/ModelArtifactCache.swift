import FerryCore
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// Where `ferry serve` keeps the model artifacts it pulls, and how it reaches registries.
public struct ModelCacheSettings: Sendable {
    public var directory: String
    /// Plain HTTP for registries not on loopback.
    public var insecure = false
    public var credentials: @Sendable (String) -> RegistryClient.Credentials? = { _ in nil }

    public init(directory: String? = nil) {
        self.directory = directory ?? Self.defaultDirectory
    }

    /// `$XDG_CACHE_HOME/ferry/models`, else `~/.cache/ferry/models`.
    public static var defaultDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        if let cache = environment["XDG_CACHE_HOME"], !cache.isEmpty { return cache + "/ferry/models" }
        return (environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path) + "/.cache/ferry/models"
    }
}

/// A content-addressed cache of model artifacts: `blobs/sha256/` holds every
/// layer, stored only after its digest and size were checked while it
/// downloaded; `models/<manifest digest>/<name>/` is the model's directory in
/// Triton's layout, its files hard links to those blobs. A manifest whose
/// directory exists is served without fetching a blob, across restarts; a
/// model pinned by digest is served without asking the registry at all, and
/// one named by tag is served as last pulled when the registry cannot be reached.
public struct ModelArtifactCache: Sendable {
    /// What `fetch` made available.
    public struct Fetched: Sendable {
        public var name: String
        /// A model repository holding just this model.
        public var repository: String
        public var manifestDigest: Digest
        /// Blobs downloaded now, and blobs the cache already held.
        public var downloaded: Int
        public var reused: Int
        /// No request reached the registry.
        public var offline: Bool
        /// The registry could not be reached, and the tag is served as it was
        /// last pulled: the reason why.
        public var staleBecause: String?
    }

    public let settings: ModelCacheSettings
    private let layout: OCILayout
    private let models: URL
    /// `refs/REGISTRY/REPOSITORY/TAG` holds the digest a tag named when last pulled.
    private let references: URL

    public init(_ settings: ModelCacheSettings) throws(FerryError) {
        self.settings = settings
        let root = URL(fileURLWithPath: settings.directory)
        layout = try OCILayout(root: root)
        models = root.appendingPathComponent("models")
        references = root.appendingPathComponent("refs")
        do {
            try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        } catch {
            throw FerryError(.failedPrecondition, "cannot create the model cache \(models.path): \(FerryError.describe(error))")
        }
    }

    public static let scheme = "oci://"

    /// The `REGISTRY/REPOSITORY[:TAG|@DIGEST]` of an `oci://` source.
    public static func reference(_ source: String) throws(FerryError) -> ImageReference {
        guard source.hasPrefix(scheme) else { throw FerryError(.invalidArgument, "'\(source)' is not an oci:// model reference") }
        return try ImageReference(parsing: String(source.dropFirst(scheme.count)))
    }

    /// The name a model from `source` is served under when its manifest
    /// cannot be read: the last component of its repository.
    public static func provisionalName(_ source: String) -> String? {
        guard let reference = try? reference(source), let last = reference.repository.split(separator: "/").last else { return nil }
        return ModelName.problem(String(last)) == nil ? String(last) : nil
    }

    /// Makes the model artifact `source` (`oci://…`) available as a model
    /// directory: from the cache when its manifest is there, otherwise
    /// pulling the blobs it lacks. A blob whose digest or size differs from
    /// the manifest's is refused, and nothing of the model is kept.
    public func fetch(_ source: String, progress: ProgressDisplay = .silent) async throws(FerryError) -> Fetched {
        let reference = try Self.reference(source)
        if let digest = reference.digest, let cached = cachedModel(digest) {
            return Fetched(
                name: cached, repository: directory(of: digest).path, manifestDigest: digest, downloaded: 0, reused: 0, offline: true,
                staleBecause: nil)
        }
        // A server starting while its registry is down gives up within seconds
        // (then serves what it pulled before, if anything), not minutes.
        let client = RegistryClient(
            registry: reference.registry, insecure: settings.insecure, credentials: settings.credentials(reference.registry),
            progress: progress, connectTimeout: .seconds(3), attempts: 2)
        do {
            let fetched = try await fetch(reference, source: source, with: client)
            await client.shutdown()
            record(reference, as: fetched.manifestDigest)
            return fetched
        } catch {
            await client.shutdown()
            // A registry that is down does not keep a restarting server from
            // the model it pulled before; a refused or tampered artifact does.
            if error.code == .unavailable, let digest = recorded(reference), let cached = cachedModel(digest) {
                return Fetched(
                    name: cached, repository: directory(of: digest).path, manifestDigest: digest, downloaded: 0, reused: 0, offline: true,
                    staleBecause: error.message)
            }
            throw error
        }
    }

    private func referenceFile(_ reference: ImageReference) -> URL? {
        guard reference.digest == nil, let tag = reference.tag else { return nil }
        return references.appendingPathComponent("\(reference.registry)/\(reference.repository)/\(tag)")
    }

    private func recorded(_ reference: ImageReference) -> Digest? {
        guard let file = referenceFile(reference), let data = FileManager.default.contents(atPath: file.path) else { return nil }
        return try? Digest(parsing: String(decoding: data, as: UTF8.self))
    }

    /// Writes what the tag names now (by rename, so a reader never sees half of it).
    private func record(_ reference: ImageReference, as digest: Digest) {
        guard let file = referenceFile(reference) else { return }
        let temporary = file.deletingLastPathComponent().appendingPathComponent(".tmp-\(RandomIdentifier.uuid())")
        do {
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(digest.description.utf8).write(to: temporary)
            if rename(temporary.path, file.path) != 0 { try? FileManager.default.removeItem(at: temporary) }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
        }
    }

    private func fetch(_ reference: ImageReference, source: String, with client: RegistryClient) async throws(FerryError) -> Fetched {
        let scopes = [RegistryClient.pullScope(reference.repository)]
        let (mediaType, body, digest) = try await client.fetchManifest(reference.repository, reference.reference, scopes: scopes)
        guard mediaType == MediaType.manifest else {
            throw FerryError(.invalidArgument, "\(source) is a \(mediaType) document, not a model artifact (push one with ferry push-model)")
        }
        let manifest: ArtifactManifest
        do {
            manifest = try JSONDecoder().decode(ArtifactManifest.self, from: body)
        } catch {
            throw FerryError(.invalidArgument, "\(source): the registry's manifest cannot be read: \(error)")
        }
        guard manifest.artifactType == ModelArtifact.artifactType || manifest.config.mediaType == ModelArtifact.configType else {
            throw FerryError(
                .invalidArgument,
                "\(source) is not a model artifact (its artifactType is \(manifest.artifactType ?? "not set"), its config \(manifest.config.mediaType)); push one with ferry push-model"
            )
        }
        if let cached = cachedModel(digest) {
            return Fetched(
                name: cached, repository: directory(of: digest).path, manifestDigest: digest, downloaded: 0, reused: 0, offline: false,
                staleBecause: nil)
        }
        let name = manifest.annotations?[ModelArtifact.nameAnnotation] ?? Self.provisionalName(source) ?? ""
        if let problem = ModelName.problem(name) {
            throw FerryError(.invalidArgument, "\(source) names its model \(ModelName.escaped(name)), but \(problem)")
        }
        let paths = try manifest.layers.map { layer throws(FerryError) in try ModelArtifact.checkedPath(layer) }
        guard Set(paths).count == paths.count else { throw FerryError(.invalidArgument, "\(source) lists a file twice") }
        var downloaded = 0
        var reused = 0
        for (index, layer) in manifest.layers.enumerated() {
            if layout.hasBlob(layer.digest) {
                reused += 1
                continue
            }
            _ = try await client.download(
                layer, title: "\(name) \(paths[index]) (\(index + 1)/\(manifest.layers.count))", repository: reference.repository,
                scopes: scopes, into: layout, keep: false)
            downloaded += 1
        }
        try materialize(name: name, files: zip(paths, manifest.layers.map(\.digest)).map { ($0, $1) }, manifest: digest)
        _ = try layout.putBlob(body)
        return Fetched(
            name: name, repository: directory(of: digest).path, manifestDigest: digest, downloaded: downloaded, reused: reused, offline: false,
            staleBecause: nil)
    }

    private func directory(of manifest: Digest) -> URL { models.appendingPathComponent(manifest.hex) }

    /// The model name a complete cached directory holds, if there is one.
    private func cachedModel(_ manifest: Digest) -> String? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory(of: manifest).path)) ?? []
        let names = entries.filter { !$0.hasPrefix(".") }
        return names.count == 1 ? names[0] : nil
    }

    /// Builds the model directory out of hard links to the blobs (a copy
    /// where links cannot be made) under a temporary name, then renames it
    /// into place, so a directory under a manifest's digest is always whole.
    private func materialize(name: String, files: [(String, Digest)], manifest: Digest) throws(FerryError) {
        let temporary = models.appendingPathComponent(".tmp-\(RandomIdentifier.uuid())")
        let root = temporary.appendingPathComponent(name)
        do {
            for (path, digest) in files {
                let target = root.appendingPathComponent(path)
                try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                if link(layout.blobURL(digest).path, target.path) != 0 {
                    try FileManager.default.copyItem(at: layout.blobURL(digest), to: target)
                }
            }
            if rename(temporary.path, directory(of: manifest).path) != 0 {
                // Another server sharing the cache finished first: its directory is as good.
                try? FileManager.default.removeItem(at: temporary)
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw FerryError(.failedPrecondition, "cannot write \(name) into the model cache: \(FerryError.describe(error))")
        }
    }
}
