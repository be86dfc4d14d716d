import FerryCore
import SystemPackage

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A file read in pieces (layers and model weights can be gigabytes).
/// Foundation's `FileHandle` lives in full Foundation, which `ferry` does not link.
final class InputFile {
    let path: String
    private let descriptor: FileDescriptor

    init(_ path: String) throws(FerryError) {
        self.path = path
        do {
            descriptor = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
        } catch {
            throw FerryError(.notFound, "cannot read '\(path)': \(error)")
        }
    }

    deinit { try? descriptor.close() }

    /// Up to `count` bytes from where the last read ended; empty at the end.
    func read(upTo count: Int) throws(FerryError) -> Data {
        var data = Data(count: count)
        var filled = 0
        do {
            try data.withUnsafeMutableBytes { (buffer: UnsafeMutableRawBufferPointer) in
                while filled < count {
                    let read = try descriptor.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
                    if read == 0 { break }
                    filled += read
                }
            }
        } catch {
            throw FerryError(.internal, "reading '\(path)' failed: \(error)")
        }
        data.removeSubrange(filled...)
        return data
    }

    func seek(to offset: Int) throws(FerryError) {
        do {
            _ = try descriptor.seek(offset: Int64(offset), from: .start)
        } catch {
            throw FerryError(.internal, "seeking in '\(path)' failed: \(error)")
        }
    }
}

/// A file written from the start (created or truncated).
final class OutputFile {
    let path: String
    private let descriptor: FileDescriptor

    init(_ path: String) throws(FerryError) {
        self.path = path
        do {
            descriptor = try FileDescriptor.open(
                FilePath(path), .writeOnly, options: [.create, .truncate, .closeOnExec],
                permissions: [.ownerReadWrite, .groupRead, .otherRead])
        } catch {
            throw FerryError(.failedPrecondition, "cannot create '\(path)': \(error)")
        }
    }

    deinit { try? descriptor.close() }

    func write(_ data: some DataProtocol) throws(FerryError) {
        do {
            for region in data.regions {
                _ = try region.withUnsafeBytes { try descriptor.writeAll($0) }
            }
        } catch {
            throw FerryError(.internal, "writing '\(path)' failed: \(error)")
        }
    }
}
