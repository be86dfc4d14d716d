import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Puts a converted model into a Triton-layout repository so that a reader
/// (`ferry serve --model-control-mode poll`, Triton) never sees half of it:
/// the version directory is assembled beside its place under a dot-name no
/// server treats as a version, then renamed into place in one step;
/// `config.pbtxt` is written to a temporary file and renamed.
public struct RepositoryPlacement: Sendable {
    public var repository: String
    public var name: String
    public var version: Int

    public var modelDirectory: String { "\(repository)/\(name)" }
    public var versionDirectory: String { "\(modelDirectory)/\(version)" }
    public var configFile: String { "\(modelDirectory)/config.pbtxt" }

    public init(repository: String, name: String, version: Int) {
        self.repository = repository
        self.name = name
        self.version = version
    }

    /// Refuses an existing version before any work is done, unless it is to be replaced.
    public func checkFree(force: Bool) throws(FerryError) {
        if FileSystem.kind(of: versionDirectory) != nil && !force {
            throw FerryError(.conflict, "\(versionDirectory) already exists: choose another --version, or --force to replace it")
        }
        if let kind = FileSystem.kind(of: repository), kind != .directory {
            throw FerryError(.invalidArgument, "--repository \(repository) is not a directory")
        }
    }

    public enum ConfigOutcome: Sendable, Equatable { case written, unchanged, keptExisting }

    /// Moves `files` (name → path) into the version directory and writes the
    /// config; an existing config.pbtxt that differs is kept unless `force`
    /// (it may hold settings written by hand: instances, batching, warmup).
    public func place(files: [(String, String)], config: String, force: Bool) throws(FerryError) -> ConfigOutcome {
        try createDirectory(modelDirectory)
        let staging = "\(modelDirectory)/.\(version).converting-\(getpid())"
        try? FileManager.default.removeItem(atPath: staging)
        try createDirectory(staging)
        do throws(FerryError) {
            for (name, path) in files { try move(path, to: staging + "/" + name) }
            var replaced: String? = nil
            if FileSystem.kind(of: versionDirectory) != nil {
                guard force else { throw FerryError(.conflict, "\(versionDirectory) appeared while converting; nothing was replaced") }
                replaced = "\(modelDirectory)/.\(version).replaced-\(getpid())"
                try move(versionDirectory, to: replaced!)
            }
            try move(staging, to: versionDirectory)
            if let replaced { try? FileManager.default.removeItem(atPath: replaced) }
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }

        if let existing = FileManager.default.contents(atPath: configFile) {
            if String(decoding: existing, as: UTF8.self) == config { return .unchanged }
            if !force { return .keptExisting }
        }
        let temporary = "\(modelDirectory)/.config.pbtxt.\(getpid())"
        try write(Data(config.utf8), to: temporary)
        try move(temporary, to: configFile)
        return .written
    }

    private func move(_ from: String, to: String) throws(FerryError) {
        guard rename(from, to) == 0 else {
            if errno == EXDEV {
                // The work directory is on another file system: copy, then rename within the repository.
                do {
                    try FileManager.default.copyItem(atPath: from, toPath: to + ".copying")
                } catch {
                    throw FerryError(.failedPrecondition, "cannot copy \(from) to \(to): \(error)")
                }
                guard rename(to + ".copying", to) == 0 else {
                    throw FerryError(.failedPrecondition, "cannot move \(from) to \(to): \(String(cString: strerror(errno)))")
                }
                try? FileManager.default.removeItem(atPath: from)
                return
            }
            throw FerryError(.failedPrecondition, "cannot move \(from) to \(to): \(String(cString: strerror(errno)))")
        }
    }
}
