import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The OCI image documents Ferry writes and reads (image-spec v1.1), with
/// the JSON field names the spec gives them.
public enum MediaType {
    public static let manifest = "application/vnd.oci.image.manifest.v1+json"
    public static let index = "application/vnd.oci.image.index.v1+json"
    public static let config = "application/vnd.oci.image.config.v1+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
}

public struct Descriptor: Codable, Sendable, Hashable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int
    public var annotations: [String: String]?
    public var platform: Platform?

    public init(mediaType: String, digest: Digest, size: Int, annotations: [String: String]? = nil, platform: Platform? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
        self.platform = platform
    }
}

public struct Platform: Codable, Sendable, Hashable {
    public var architecture: String
    public var os: String
}

public struct ImageManifest: Codable, Sendable {
    public var schemaVersion = 2
    public var mediaType = MediaType.manifest
    public var config: Descriptor
    public var layers: [Descriptor]
    public var annotations: [String: String]?
}

public struct ImageIndex: Codable, Sendable {
    public var schemaVersion = 2
    public var mediaType = MediaType.index
    public var manifests: [Descriptor]
}

public struct ImageConfiguration: Codable, Sendable {
    public struct Config: Codable, Sendable {
        public var User: String?
        public var ExposedPorts: [String: [String: String]]?
        public var Env: [String]?
        public var Entrypoint: [String]?
        public var Cmd: [String]?
        public var WorkingDir: String?
        public var Labels: [String: String]?
    }

    public struct RootFS: Codable, Sendable {
        public var type = "layers"
        public var diff_ids: [Digest]
    }

    public struct History: Codable, Sendable {
        public var created: String?
        public var created_by: String?
        public var comment: String?
        public var empty_layer: Bool?
    }

    public var created: String?
    public var architecture: String
    public var os: String
    public var config: Config
    public var rootfs: RootFS
    public var history: [History]?
}

/// One encoding for every document: sorted keys and no escaped slashes, so
/// the same document always hashes to the same digest.
enum CanonicalJSON {
    static func encode(_ value: some Encodable) throws(FerryError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return try encoder.encode(value)
        } catch {
            throw FerryError(.internal, "cannot encode an image document: \(error)")
        }
    }
}
