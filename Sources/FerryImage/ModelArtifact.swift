import Crypto
import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One model of a repository as an OCI artifact (image-spec 1.1: an image
/// manifest with an `artifactType`), in the CNCF ModelPack format where it
/// fits: ModelPack's artifact type and config media type; every file of the
/// model directory is one uncompressed layer (ONNX weights barely compress,
/// and a raw layer is the file itself, so a pull stores it without
/// unpacking), typed as weights (`.onnx`, external data), weight config
/// (`config.pbtxt`), documentation (the conversion report and other text)
/// or dataset (warmup inputs), with its path in the model directory in
/// `org.cncf.model.filepath`.
public enum ModelArtifact {
    public static let artifactType = "application/vnd.cncf.model.manifest.v1+json"
    public static let configType = "application/vnd.cncf.model.config.v1+json"
    public static let weightType = "application/vnd.cncf.model.weight.v1.raw"
    public static let weightConfigType = "application/vnd.cncf.model.weight.config.v1.raw"
    public static let docType = "application/vnd.cncf.model.doc.v1.raw"
    public static let datasetType = "application/vnd.cncf.model.dataset.v1.raw"
    /// ModelPack's annotation for a layer's path inside the model.
    public static let filepathAnnotation = "org.cncf.model.filepath"
    /// The served model's name, on the manifest.
    public static let nameAnnotation = "org.cncf.model.name"

    /// What `ferry push-model` packs.
    public struct Packed: Sendable {
        public var manifest: Descriptor
        public var name: String
        public var files: [String]
        public var bytes: Int
    }

    /// Packs the model directory `directory` (Triton layout: config.pbtxt,
    /// numbered version directories, anything else beside them) into
    /// `layout`, all versions or only `version`. A single `.onnx` file is
    /// packed as `ferry serve` serves one: a model named after the file,
    /// version 1.
    public static func pack(modelDirectory directory: String, version: Int64? = nil, into layout: OCILayout) throws(FerryError) -> Packed {
        let url = URL(fileURLWithPath: directory).standardizedFileURL
        let singleFile = FileSystem.isRegularFile(url.path) && url.pathExtension == "onnx"
        let root = singleFile ? url.deletingLastPathComponent().path : url.path
        let name = singleFile ? url.deletingPathExtension().lastPathComponent : url.lastPathComponent
        guard singleFile || FileSystem.isDirectory(root) else {
            throw FerryError(.notFound, "\(directory) is neither a model directory nor an .onnx file")
        }
        if let problem = ModelName.problem(name) {
            throw FerryError(.invalidArgument, "\(directory) would be served as \(ModelName.escaped(name)), but \(problem)")
        }
        // Path in the model directory → the file it comes from.
        let sources: [(path: String, file: String)] =
            singleFile
            ? (version ?? 1 == 1 ? [("1/model.onnx", url.path)] : [])
            : try regularFiles(under: root).filter { path in
                // Version directories are numbers; with --version only that one goes.
                guard let first = path.split(separator: "/").first, path.contains("/"), let number = Int64(first) else { return true }
                return version == nil || number == version
            }.map { ($0, root + "/" + $0) }
        let files = sources.map(\.path)
        let versions = Set(files.compactMap { $0.split(separator: "/").first.flatMap { Int64($0) } })
        guard !versions.isEmpty else {
            throw FerryError(
                .notFound,
                version.map { "\(directory) has no version \($0) directory with files" } ?? "\(directory) has no version directory with files")
        }
        var layers: [Descriptor] = []
        var bytes = 0
        for (file, source) in sources {
            let stored = try layout.putFile(source)
            layers.append(
                Descriptor(
                    mediaType: mediaType(of: file), digest: stored.digest, size: stored.size,
                    annotations: [filepathAnnotation: file, ImageAnnotation.title: file]))
            bytes += stored.size
        }
        let config = ModelConfig(
            descriptor: .init(name: name, version: versions.sorted().map(String.init).joined(separator: ",")),
            config: .init(format: "onnx"),
            modelfs: .init(type: "layers", diffIds: layers.map(\.digest.description)))
        let configData = try CanonicalJSON.encode(config)
        let configDigest = try layout.putBlob(configData)
        let manifest = ArtifactManifest(
            artifactType: artifactType,
            config: Descriptor(mediaType: configType, digest: configDigest, size: configData.count),
            layers: layers,
            annotations: [nameAnnotation: name, ImageAnnotation.title: name])
        let manifestData = try CanonicalJSON.encode(manifest)
        let manifestDigest = try layout.putBlob(manifestData)
        return Packed(
            manifest: Descriptor(mediaType: MediaType.manifest, digest: manifestDigest, size: manifestData.count), name: name, files: files,
            bytes: bytes)
    }

    package static func mediaType(of path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        if path.hasPrefix("warmup/") { return datasetType }
        if file == "config.pbtxt" || file == "labels.txt" { return weightConfigType }
        if file.hasSuffix(".json") || file.hasSuffix(".md") || file.hasSuffix(".txt") { return docType }
        return weightType
    }

    /// Paths of the regular files below `root`, relative to it, sorted;
    /// hidden files (editor and cache droppings) are left out.
    static func regularFiles(under root: String) throws(FerryError) -> [String] {
        var found: [String] = []
        var pending = [""]
        while let relative = pending.popLast() {
            let directory = relative.isEmpty ? root : root + "/" + relative
            let entries: [String]
            do {
                entries = try FileManager.default.contentsOfDirectory(atPath: directory)
            } catch {
                throw FerryError(.failedPrecondition, "cannot list \(directory): \(FerryError.describe(error))")
            }
            for entry in entries where !entry.hasPrefix(".") {
                let path = relative.isEmpty ? entry : relative + "/" + entry
                switch FileSystem.kind(of: root + "/" + path) {
                case .directory?: pending.append(path)
                case .regular?: found.append(path)
                default: continue
                }
            }
        }
        return found.sorted()
    }

    /// A layer's path inside the model directory, refused unless it stays
    /// inside (no absolute path, no `..`, no empty or hidden component).
    package static func checkedPath(_ layer: Descriptor) throws(FerryError) -> String {
        guard let path = layer.annotations?[filepathAnnotation] ?? layer.annotations?[ImageAnnotation.title] else {
            throw FerryError(.invalidArgument, "layer \(layer.digest) names no file (\(filepathAnnotation))")
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.hasPrefix("/"), !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty && !$0.hasPrefix(".") }), path.utf8.count < 1024,
            !path.contains("\0")
        else {
            throw FerryError(.invalidArgument, "layer \(layer.digest) names the path '\(path)', which leaves the model directory")
        }
        return path
    }
}

/// The image manifest of an artifact: image-spec 1.1 adds `artifactType`.
struct ArtifactManifest: Codable, Sendable {
    var schemaVersion = 2
    var mediaType = MediaType.manifest
    var artifactType: String?
    var config: Descriptor
    var layers: [Descriptor]
    var annotations: [String: String]?
}

/// ModelPack's model config document (the parts Ferry fills in).
struct ModelConfig: Codable, Sendable {
    struct Identity: Codable, Sendable {
        var name: String
        /// The version directories packed, comma-separated.
        var version: String
    }

    struct Format: Codable, Sendable {
        var format: String
    }

    struct FileSystem: Codable, Sendable {
        var type: String
        var diffIds: [String]
    }

    var descriptor: Identity
    var config: Format
    var modelfs: FileSystem
}

extension OCILayout {
    /// Stores a file as a blob, hashing it while it is copied.
    func putFile(_ path: String) throws(FerryError) -> (digest: Digest, size: Int) {
        let input = try InputFile(path)
        let temporary = temporaryBlob()
        var hash = SHA256()
        var size = 0
        do throws(FerryError) {
            let output = try OutputFile(temporary.path)
            while true {
                let chunk = try input.read(upTo: 4 << 20)
                if chunk.isEmpty { break }
                hash.update(data: chunk)
                try output.write(chunk)
                size += chunk.count
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        let digest = Digest(hash.finalize())
        try commit(temporary, as: digest)
        return (digest, size)
    }
}
