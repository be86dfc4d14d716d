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

    /// What changes when a file is rewritten, replaced by a rename, or swapped
    /// behind a symbolic link (as Kubernetes updates a mounted Secret).
    public struct Fingerprint: Sendable, Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: Int64
        var changed: Int64
    }

    /// The fingerprint of the file `path` leads to; nil if nothing is there.
    public static func fingerprint(of path: String) -> Fingerprint? {
        guard let status = status(path, followingLinks: true) else { return nil }
        #if canImport(Glibc)
            let (modified, changed) = (status.st_mtim, status.st_ctim)
        #else
            let (modified, changed) = (status.st_mtimespec, status.st_ctimespec)
        #endif
        return Fingerprint(
            device: UInt64(status.st_dev), inode: UInt64(status.st_ino), size: Int64(status.st_size),
            modified: Int64(modified.tv_sec) * 1_000_000_000 + Int64(modified.tv_nsec),
            changed: Int64(changed.tv_sec) * 1_000_000_000 + Int64(changed.tv_nsec))
    }

    private static func status(_ path: String, followingLinks: Bool) -> stat? {
        var result = stat()
        let code = followingLinks ? stat(path, &result) : lstat(path, &result)
        return code == 0 ? result : nil
    }
}
