import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One model of the repository being packed: its name, its version folders
/// and the files that go under `/models/NAME` in its layer.
struct ModelSource: Sendable {
    var name: String
    var versions: [String]
    var entries: [TarEntry]
    /// `ferry convert`'s reports found in the version folders.
    var conversions: [ConversionLabel] = []

    /// A version's `conversion.json`, by digest and verdict, for the image's
    /// labels: a registry UI or an admission policy can then tell which
    /// conversion an image serves, and whether it passed, without unpacking it.
    struct ConversionLabel: Sendable, Equatable {
        var version: String
        var digest: Digest
        var verdict: String
    }

    static func conversion(in folder: URL, version: String) -> ConversionLabel? {
        guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent("\(version)/conversion.json").path) else {
            return nil
        }
        let verdict = (try? JSONParser.parse(data))?["verdict"]?.stringValue ?? "unknown"
        return ConversionLabel(version: version, digest: Digest.of(data), verdict: verdict)
    }

    /// The models of a Triton-layout repository (its folders, sorted), or
    /// of one `.onnx` file, packed as version 1 of a model named after it
    /// (as `ferry serve FILE.onnx` serves it). `including` picks some by name.
    static func list(_ repository: URL, including names: [String]?) throws(FerryError) -> [ModelSource] {
        switch FileSystem.kind(of: repository.path) {
        case nil:
            throw FerryError(.notFound, "cannot read the model repository '\(repository.path)'")
        case .regular where repository.pathExtension == "onnx":
            let name = repository.deletingPathExtension().lastPathComponent
            if let names, names != [name] {
                throw FerryError(.invalidArgument, "'\(repository.path)' holds only model '\(name)', not \(names.joined(separator: ", "))")
            }
            let entries = [
                TarEntry(path: "models/\(name)", content: .directory),
                TarEntry(path: "models/\(name)/1/model.onnx", content: .file(repository.resolvingSymlinksInPath())),
            ]
            return [ModelSource(name: name, versions: ["1"], entries: entries)]
        case .directory:
            break
        default:
            throw FerryError(.invalidArgument, "'\(repository.path)' is neither a model repository folder nor an .onnx file")
        }
        let folders = ((try? FileManager.default.contentsOfDirectory(atPath: repository.path)) ?? [])
            .filter { !$0.hasPrefix(".") && FileSystem.isDirectory(repository.appendingPathComponent($0).path) }.sorted()
        guard !folders.isEmpty else { throw FerryError(.invalidArgument, "'\(repository.path)' holds no model folders") }
        var chosen = folders
        if let names {
            let unknown = names.filter { !folders.contains($0) }
            guard unknown.isEmpty else {
                throw FerryError(
                    .notFound,
                    "the repository '\(repository.path)' has no model \(unknown.map { "'\($0)'" }.joined(separator: ", ")) (it has \(folders.joined(separator: ", ")))"
                )
            }
            chosen = folders.filter(names.contains)
        }
        var models: [ModelSource] = []
        for name in chosen {
            let folder = repository.appendingPathComponent(name)
            let versions = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
                .filter { Int64($0) != nil && FileSystem.isDirectory(folder.appendingPathComponent($0).path) }
                .sorted { Int64($0)! < Int64($1)! }
            models.append(
                ModelSource(
                    name: name, versions: versions, entries: try RootFilesystem.tree(folder, under: "models/\(name)"),
                    conversions: versions.compactMap { conversion(in: folder, version: $0) }))
        }
        return models
    }
}
