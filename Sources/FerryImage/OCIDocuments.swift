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
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let layer = "application/vnd.oci.image.layer.v1.tar"
    public static let gzipLayer = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let zstdLayer = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let dockerGzipLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    /// Layers the registry may not hold (Windows base layers), which Ferry cannot use.
    public static let foreignLayers: Set<String> = [
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    ]

    /// Every manifest kind a pull accepts, for the `Accept` header.
    public static let manifests = [manifest, index, dockerManifest, dockerManifestList]

    /// The OCI name of a layer media type; Docker's gzip layer is the same bytes as OCI's.
    static func ociLayer(_ mediaType: String) -> String {
        mediaType == dockerGzipLayer ? gzipLayer : mediaType
    }
}

/// Annotation keys of the image-spec ("Pre-Defined Annotation Keys").
public enum ImageAnnotation {
    public static let title = "org.opencontainers.image.title"
    public static let created = "org.opencontainers.image.created"
    public static let refName = "org.opencontainers.image.ref.name"
    /// The image this one was built on, and its manifest digest.
    public static let baseName = "org.opencontainers.image.base.name"
    public static let baseDigest = "org.opencontainers.image.base.digest"
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

public struct Platform: Codable, Sendable, Hashable, CustomStringConvertible {
    public var architecture: String
    public var os: String
    /// `v8` for arm64, `v7` for arm; absent for amd64.
    public var variant: String?

    public init(architecture: String, os: String, variant: String? = nil) {
        self.architecture = architecture
        self.os = os
        self.variant = variant
    }

    /// The platform this program runs on, as OCI names it (`linux/amd64`).
    public static var current: Platform {
        #if arch(x86_64)
            Platform(architecture: "amd64", os: "linux")
        #elseif arch(arm64)
            Platform(architecture: "arm64", os: "linux", variant: "v8")
        #else
            Platform(architecture: "unknown", os: "linux")
        #endif
    }

    public var description: String { "\(os)/\(architecture)" + (variant.map { "/\($0)" } ?? "") }

    /// Whether an index entry for `other` can run here: same OS and
    /// architecture, and the same variant when both name one.
    func accepts(_ other: Platform) -> Bool {
        other.os == os && other.architecture == architecture && (other.variant == nil || variant == nil || other.variant == variant)
    }
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
    /// Optional in the spec; some tools leave it out of base images.
    public var config: Config?
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
