#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `stat(2)` says of a path. FileManager's `isDirectory:` parameter is
/// `inout Bool` in FoundationEssentials and `ObjCBool` in Darwin's
/// Foundation; asking the system directly reads the same everywhere.
public enum FileSystem {
    public enum Kind: Sendable, Equatable {
        case regular, directory, symbolicLink, other
    }

    /// The kind of `path`, following a symbolic link unless `followingLinks` is false; nil if nothing is there.
    public static func kind(of path: String, followingLinks: Bool = true) -> Kind? {
        guard let status = status(path, followingLinks: followingLinks) else { return nil }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        case S_IFLNK: return .symbolicLink
        default: return .other
        }
    }

    public static func isDirectory(_ path: String) -> Bool { kind(of: path) == .directory }

    public static func isRegularFile(_ path: String) -> Bool { kind(of: path) == .regular }

    /// Size in bytes of the file at `path` (following links).
    public static func size(of path: String) -> Int? { status(path, followingLinks: true).map { Int($0.st_size) } }

    public static func modificationDate(of path: String) -> Date? {
        guard let status = status(path, followingLinks: true) else { return nil }
        #if canImport(Glibc)
            let time = status.st_mtim
        #else
            let time = status.st_mtimespec
        #endif
        return Date(timeIntervalSince1970: TimeInterval(time.tv_sec) + TimeInterval(time.tv_nsec) / 1e9)
    }

    /// The permission bits (`0o755`) of `path`.
    public static func permissions(of path: String) -> Int? {
        status(path, followingLinks: true).map { Int($0.st_mode & 0o7777) }
    }

    private static func status(_ path: String, followingLinks: Bool) -> stat? {
        var result = stat()
        let code = followingLinks ? stat(path, &result) : lstat(path, &result)
        return code == 0 ? result : nil
    }
}
