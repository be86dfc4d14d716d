import Crypto
import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// The SHA-256 a report names its source by. A file: the digest of its
/// bytes (what `sha256sum` prints). A directory (a SavedModel): the digest
/// of `sha256sum`'s listing of every file in it, sorted by relative path, so
/// the same tree gives the same digest wherever it lies.
public enum SourceDigest {
    public static func of(_ path: String) throws(FerryError) -> String {
        guard FileSystem.isDirectory(path) else { return try file(path) }
        let everything: [String]
        do {
            everything = try FileManager.default.subpathsOfDirectory(atPath: path)
        } catch {
            throw FerryError(.failedPrecondition, "cannot read the directory \(path): \(error)")
        }
        let files = everything.filter { FileSystem.isRegularFile(path + "/" + $0) }
        var listing = ""
        for relative in files.sorted() { listing += try file(path + "/" + relative) + "  " + relative + "\n" }
        return SHA256.hash(data: Data(listing.utf8)).hexString
    }

    public static func file(_ path: String) throws(FerryError) -> String {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw FerryError(.failedPrecondition, "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var hash = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw FerryError(.failedPrecondition, "cannot read \(path): \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            buffer.withUnsafeBytes { hash.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
        return hash.finalize().hexString
    }
}
