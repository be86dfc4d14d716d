import FerryCore
import Foundation

/// The minimal root filesystem of `--base scratch`: the dynamic loader and
/// the shared-library closure of the programs that run in the image, a
/// non-root user, `/tmp`, and CA certificates. Nothing else: no shell, no
/// package manager.
public enum RootFilesystem {
    public static let user = 65532

    /// Entries for the base layer; `programs` are the executables and the
    /// `dlopen`ed libraries (which `ldd` of the executable cannot see).
    public static func entries(libraryClosureOf programs: [URL], excluding: Set<String> = []) throws(FerryError) -> [TarEntry] {
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
        var libraries = Set<String>()
        for program in programs { libraries.formUnion(try sharedLibraries(of: program)) }
        for library in libraries.sorted() where !excluding.contains(library) {
            files.append(TarEntry(path: library, content: .file(URL(fileURLWithPath: library).resolvingSymlinksInPath()), mode: 0o755))
        }
        return withParentDirectories(files)
    }

    /// The libraries the dynamic loader maps for `program`, as `ldd` names
    /// them (the loader included); none for a static executable.
    static func sharedLibraries(of program: URL) throws(FerryError) -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
        process.arguments = [program.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = Pipe()
        do {
            try process.run()
        } catch {
            throw FerryError(
                .failedPrecondition, "cannot run ldd to find the libraries of '\(program.path)': \(error.localizedDescription)")
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if text.contains("not a dynamic executable") || text.contains("statically linked") { return [] }
        guard process.terminationStatus == 0 else {
            throw FerryError(.failedPrecondition, "ldd could not read '\(program.path)'")
        }
        var libraries: [String] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if let arrow = fields.firstIndex(of: "=>") {
                guard arrow + 1 < fields.count, fields[arrow + 1] != "not" else {
                    throw FerryError(.failedPrecondition, "'\(program.path)' needs \(fields.first ?? ""), which is not installed here")
                }
                libraries.append(String(fields[arrow + 1]))
            } else if let first = fields.first, first.hasPrefix("/") {
                libraries.append(String(first))
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

    /// Every file and folder under `directory`, placed under `prefix`.
    static func tree(_ directory: URL, under prefix: String) throws(FerryError) -> [TarEntry] {
        guard
            let enumerator = FileManager.default.enumerator(
                at: directory, includingPropertiesForKeys: [.isDirectoryKey, .isSymbolicLinkKey])
        else { throw FerryError(.notFound, "cannot read '\(directory.path)'") }
        var entries = [TarEntry(path: prefix, content: .directory)]
        let base = directory.standardizedFileURL.path
        for case let url as URL in enumerator {
            let relative = String(url.standardizedFileURL.path.dropFirst(base.count + 1))
            if relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
            let values = try? url.resourceValues(forKeys: [.isDirectoryKey, .isSymbolicLinkKey])
            let path = prefix + "/" + relative
            if values?.isSymbolicLink == true {
                entries.append(TarEntry(path: path, content: .file(url.resolvingSymlinksInPath())))
            } else if values?.isDirectory == true {
                entries.append(TarEntry(path: path, content: .directory))
            } else {
                entries.append(TarEntry(path: path, content: .file(url)))
            }
        }
        return entries
    }
}
