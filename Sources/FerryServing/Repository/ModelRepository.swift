import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A model repository on disk, in Triton's layout:
///
///     REPOSITORY/NAME/config.pbtxt          (optional)
///     REPOSITORY/NAME/VERSION/model.onnx    (VERSION a positive integer)
///
/// or a single `.onnx` file, served as a repository of one model named after
/// the file, version 1. Several of them serve as one (`ferry serve A B`,
/// and each OCI model artifact is a directory of one model in the cache); a
/// name two of them hold is refused, as Triton does.
public struct ModelRepository: Sendable {
    public enum Layout: Sendable, Hashable {
        case directory(String)
        case singleFile(String)
    }

    public let sources: [Layout]

    public init(path: String) throws(FerryError) {
        sources = [try Self.layout(of: path)]
    }

    public init(paths: [String]) throws(FerryError) {
        sources = try paths.map { path throws(FerryError) in try Self.layout(of: path) }
    }

    private static func layout(of path: String) throws(FerryError) -> Layout {
        guard let kind = FileSystem.kind(of: path) else {
            throw FerryError(.notFound, "model repository \(path) does not exist")
        }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        if kind == .directory {
            return .directory(absolute)
        } else if absolute.hasSuffix(".onnx") {
            let name = Self.modelName(forFile: absolute)
            if let problem = ModelName.problem(name) {
                throw FerryError(.invalidArgument, "\(path) would serve a model named \(ModelName.escaped(name)), but \(problem): rename the file")
            }
            return .singleFile(absolute)
        } else {
            throw FerryError(.invalidArgument, "\(path) is neither a model repository directory nor an .onnx file")
        }
    }

    /// The names of the models in the repository, sorted: its directories
    /// whose names are model names (`ModelName`).
    public func modelNames() -> [String] {
        guard sources.count > 1 else { return sources.first.map(Self.modelNames(in:)) ?? [] }
        return Set(sources.flatMap(Self.modelNames(in:))).sorted()
    }

    private static func modelNames(in layout: Layout) -> [String] {
        switch layout {
        case .singleFile(let file):
            return [Self.modelName(forFile: file)]
        case .directory(let root):
            return directories(in: root).filter { ModelName.problem($0) == nil }
        }
    }

    /// Directories of the repository that cannot be models because of their
    /// names, for a warning (hidden ones aside).
    public func misnamedDirectories() -> [String] {
        sources.flatMap { layout -> [String] in
            guard case .directory(let root) = layout else { return [] }
            return Self.directories(in: root).filter { !$0.hasPrefix(".") && ModelName.problem($0) != nil }
        }
    }

    private static func directories(in root: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return entries.filter { FileSystem.isDirectory(root + "/" + $0) }.sorted()
    }

    /// Reads what the repository holds for one model: its config text and version files.
    public func entry(named name: String) throws(FerryError) -> RepositoryEntry {
        var found: [RepositoryEntry] = []
        for layout in sources {
            if let entry = Self.entry(named: name, in: layout) { found.append(entry) }
        }
        guard let first = found.first else { throw Self.unknown(name) }
        guard found.count == 1 else {
            throw FerryError(
                .failedPrecondition,
                "model '\(name)' is in more than one model repository (\(found.map { relativePaths(in: $0.directory ?? $0.versionDirectories[1] ?? "") }.joined(separator: ", "))); serve it from one"
            )
        }
        return first
    }

    private static func entry(named name: String, in layout: Layout) -> RepositoryEntry? {
        switch layout {
        case .singleFile(let file):
            guard name == Self.modelName(forFile: file) else { return nil }
            return RepositoryEntry(name: name, directory: nil, configText: nil, versionDirectories: [1: file])
        case .directory(let root):
            // The name joins a path only once it is known to be a name.
            guard ModelName.problem(name) == nil, FileSystem.isDirectory(root + "/" + name) else { return nil }
            let directory = root + "/" + name
            let configPath = directory + "/config.pbtxt"
            let configText = FileManager.default.contents(atPath: configPath).map { String(decoding: $0, as: UTF8.self) }
            var versions: [Int64: String] = [:]
            for child in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                guard let version = Int64(child), version > 0 else { continue }
                versions[version] = directory + "/" + child
            }
            return RepositoryEntry(name: name, directory: directory, configText: configText, versionDirectories: versions)
        }
    }

    /// `message` with the repository's absolute paths made relative to it:
    /// load failures reach clients, who need not learn the server's layout
    /// (the server log keeps the full paths).
    public func relativePaths(in message: String) -> String {
        sources.reduce(message) { message, layout in
            switch layout {
            case .directory(let root):
                return message.replacing(root + "/", with: "").replacing(root, with: ".")
            case .singleFile(let file):
                return message.replacing(file, with: URL(fileURLWithPath: file).lastPathComponent)
            }
        }
    }

    static func modelName(forFile file: String) -> String {
        URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
    }

    private static func unknown(_ name: String) -> FerryError {
        FerryError(.notFound, "model \(ModelName.escaped(name)) is not in the model repository")
    }
}

/// One model's files in the repository.
public struct RepositoryEntry: Sendable, Hashable {
    public var name: String
    public var directory: String?
    public var configText: String?
    /// Version number → the version's directory (or, for a single-file
    /// repository, the model file itself).
    public var versionDirectories: [Int64: String]

    /// The model file of a version: `VERSION/<default_model_filename>`.
    public func modelFile(version: Int64, defaultFilename: String) -> String? {
        guard let location = versionDirectories[version] else { return nil }
        if directory == nil { return location }
        return location + "/" + defaultFilename
    }
}

/// What identifies a file's contents cheaply: size and modification time.
/// Poll mode reloads a version when its fingerprint changes.
public struct FileFingerprint: Sendable, Hashable {
    public var size: UInt64
    public var modified: Date

    public init?(path: String) {
        guard let size = FileSystem.size(of: path), let modified = FileSystem.modificationDate(of: path) else { return nil }
        self.size = UInt64(size)
        self.modified = modified
    }
}
