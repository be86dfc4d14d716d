import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The minimal root filesystem of `--base scratch`: the dynamic loader and
/// the shared-library closure of the programs that run in the image, a
/// non-root user, `/tmp`, and CA certificates. Nothing else: no shell, no
/// package manager.
public enum RootFilesystem {
    public static let user = 65532

    /// Entries for the base layer; `libraries` are the paths of the shared
    /// libraries the programs load (their `ldd` closures, the loader included).
    static func entries(libraries: Set<String>) -> [TarEntry] {
        var files: [TarEntry] = [
            TarEntry(
                path: "etc/passwd",
                content: .bytes(
                    Data(
                        "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:\(user):\(user):nonroot:/home/nonroot:/sbin/nologin\n".utf8))),
            TarEntry(path: "etc/group", content: .bytes(Data("root:x:0:\nnonroot:x:\(user):\n".utf8))),
            TarEntry(path: "etc/nsswitch.conf", content: .bytes(Data("passwd: files\ngroup: files\nhosts: files dns\n".utf8))),
            TarEntry(path: "tmp", content: .directory, mode: 0o1777),
            TarEntry(path: "home/nonroot", content: .directory, mode: 0o755),
        ]
        let certificates = URL(fileURLWithPath: "/etc/ssl/certs/ca-certificates.crt")
        if FileManager.default.fileExists(atPath: certificates.path) {
            files.append(TarEntry(path: "etc/ssl/certs/ca-certificates.crt", content: .file(certificates.resolvingSymlinksInPath())))
        }
        for library in libraries.sorted() {
            files.append(TarEntry(path: library, content: .file(URL(fileURLWithPath: library).resolvingSymlinksInPath()), mode: 0o755))
        }
        return withParentDirectories(files)
    }

    /// Every library in `program`'s closure by the name it is asked for
    /// (`libc.so.6`, and the loader also by its path), mapped to its path.
    static func resolvedLibraries(of program: URL) throws(FerryError) -> [String: String] {
        let result: ChildProcess.Result
        do {
            result = try ChildProcess.run(["ldd", program.path])
        } catch {
            throw FerryError(.failedPrecondition, "cannot run ldd to find the libraries of '\(program.path)': \(error.message)")
        }
        let text = result.outputText + result.errorText
        if text.contains("not a dynamic executable") || text.contains("statically linked") { return [:] }
        guard result.status == 0 else {
            throw FerryError(.failedPrecondition, "ldd could not read '\(program.path)'")
        }
        var libraries: [String: String] = [:]
        for line in result.outputText.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if let arrow = fields.firstIndex(of: "=>") {
                guard arrow + 1 < fields.count, fields[arrow + 1] != "not" else {
                    throw FerryError(.failedPrecondition, "'\(program.path)' needs \(fields.first ?? ""), which is not installed here")
                }
                libraries[String(fields[0])] = String(fields[arrow + 1])
            } else if let first = fields.first, first.hasPrefix("/") {
                libraries[String(first)] = String(first)
                libraries[String(first.split(separator: "/").last!)] = String(first)
            }
        }
        return libraries
    }

    /// Adds a directory entry for every parent of every entry.
    static func withParentDirectories(_ entries: [TarEntry]) -> [TarEntry] {
        var directories = Set(
            entries.compactMap { entry -> String? in
                if case .directory = entry.content { return entry.path }
                return nil
            })
        var result = entries
        for entry in entries {
            var components = entry.path.split(separator: "/").dropLast()
            while !components.isEmpty {
                let path = components.joined(separator: "/")
                if directories.insert(path).inserted { result.append(TarEntry(path: path, content: .directory)) }
                components = components.dropLast()
            }
        }
        return result
    }

    /// Every file and folder under `directory`, placed under `prefix`, with
    /// symbolic links replaced by what they point to and hidden names left out.
    static func tree(_ directory: URL, under prefix: String) throws(FerryError) -> [TarEntry] {
        guard let paths = try? FileManager.default.subpathsOfDirectory(atPath: directory.path) else {
            throw FerryError(.notFound, "cannot read '\(directory.path)'")
        }
        var entries = [TarEntry(path: prefix, content: .directory)]
        for relative in paths.sorted() where !relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) {
            let source = directory.appendingPathComponent(relative)
            let path = prefix + "/" + relative
            switch FileSystem.kind(of: source.path) {
            case .directory: entries.append(TarEntry(path: path, content: .directory))
            case .regular: entries.append(TarEntry(path: path, content: .file(source.resolvingSymlinksInPath())))
            default: throw FerryError(.invalidArgument, "'\(source.path)' is neither a file nor a folder (or a link to one)")
            }
        }
        return entries
    }
}
