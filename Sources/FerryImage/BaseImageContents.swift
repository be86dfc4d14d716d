import CompressNIO
import FerryCore
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The files a base image's layers leave in the root filesystem, with the
/// OCI whiteouts applied (`.wh.NAME` deletes NAME from the layers below,
/// `.wh..wh..opq` empties its directory), so Ferry can tell which of the
/// libraries it needs the base already has.
package struct BaseImageContents {
    package enum Node: Equatable {
        case file, directory, symlink(String)
    }

    private(set) var nodes: [String: Node] = [:]

    init(layers: [Descriptor], in layout: OCILayout) throws(FerryError) {
        for layer in layers {
            var entries: [TarReader.Entry] = []
            try Self.read(layer, in: layout) { entries.append($0) }
            apply(entries)
        }
    }

    package init(entries: [[TarReader.Entry]]) {
        for layer in entries { apply(layer) }
    }

    private mutating func apply(_ entries: [TarReader.Entry]) {
        // Whiteouts hide what lower layers have; this layer's own entries stay.
        for entry in entries {
            let (parent, name) = Self.split(entry.path)
            if name == ".wh..wh..opq" {
                removeChildren(of: parent)
            } else if name.hasPrefix(".wh.") {
                let target = (parent.isEmpty ? "" : parent + "/") + name.dropFirst(4)
                nodes[target] = nil
                removeChildren(of: target)
            }
        }
        for entry in entries {
            let name = Self.split(entry.path).1
            guard !name.hasPrefix(".wh.") else { continue }
            switch entry.kind {
            case .directory: nodes[entry.path] = .directory
            case .symlink(let target): nodes[entry.path] = .symlink(target)
            case .file, .hardLink, .other: nodes[entry.path] = .file
            }
        }
    }

    private mutating func removeChildren(of directory: String) {
        let prefix = directory.isEmpty ? "" : directory + "/"
        for path in nodes.keys where path.hasPrefix(prefix) && path != directory { nodes[path] = nil }
    }

    /// What `path` (absolute or relative to the root) is once every symbolic
    /// link on the way is followed, as the loader would open it.
    package func resolve(_ path: String) -> Node? {
        var pending = path.split(separator: "/").map(String.init)
        var resolved: [String] = []
        var links = 0
        while !pending.isEmpty {
            let component = pending.removeFirst()
            if component == "." || component.isEmpty { continue }
            if component == ".." {
                _ = resolved.popLast()
                continue
            }
            let candidate = (resolved + [component]).joined(separator: "/")
            switch nodes[candidate] {
            case nil:
                return nil
            case .symlink(let target):
                links += 1
                guard links <= 40 else { return nil }
                if target.hasPrefix("/") { resolved = [] }
                pending = target.split(separator: "/").map(String.init) + pending
            case let node?:
                resolved.append(component)
                if pending.isEmpty { return node }
                guard node == .directory else { return nil }
            }
        }
        return resolved.isEmpty ? .directory : nodes[resolved.joined(separator: "/")]
    }

    /// Whether the loader of a glibc system would find library `name` in one
    /// of its default directories, or the base has it at `path`.
    package func hasLibrary(named name: String, at path: String) -> Bool {
        if resolve(path) == .file { return true }
        let directories = [
            "lib", "lib64", "usr/lib", "usr/lib64", "lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu",
            "lib/aarch64-linux-gnu", "usr/lib/aarch64-linux-gnu",
            // CUDA base images keep CUDA here and list it in /etc/ld.so.conf.d.
            "usr/local/cuda/lib64",
        ]
        return directories.contains { resolve("\($0)/\(name)") == .file }
    }

    private static func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    /// Streams a layer blob (plain or gzip) through the tar reader.
    static func read(_ layer: Descriptor, in layout: OCILayout, entry: (TarReader.Entry) -> Void) throws(FerryError) {
        let input = try InputFile(layout.blobURL(layer.digest).path)
        var reader = TarReader()
        let gzipped = layer.mediaType.hasSuffix("+gzip") || layer.mediaType == MediaType.dockerGzipLayer
        guard gzipped || layer.mediaType == MediaType.layer else {
            throw FerryError(
                .invalidArgument, "base layer \(layer.digest) is \(layer.mediaType), which Ferry cannot read (tar or tar+gzip only)")
        }
        let inflater = gzipped ? Inflater() : nil
        while !reader.ended {
            let chunk = [UInt8](try input.read(upTo: 1 << 20))
            if let inflater {
                try inflater.inflate(chunk) { (bytes: [UInt8]) throws(FerryError) in try reader.consume(bytes, entry: entry) }
            } else {
                try reader.consume(chunk, entry: entry)
            }
            if chunk.isEmpty { break }
        }
    }

    /// Gzip decompression in pieces through compress-nio, flushing zlib's
    /// pending output even when no input is left.
    private final class Inflater {
        private let decompressor = CompressionAlgorithm.gzip().decompressor
        private var window = ByteBufferAllocator().buffer(capacity: 1 << 20)
        private var started = false

        /// Inflates `data` (empty at the end of the input) and hands the output on as it comes.
        func inflate(_ data: [UInt8], output: ([UInt8]) throws(FerryError) -> Void) throws(FerryError) {
            do {
                if !started {
                    try decompressor.startStream()
                    started = true
                }
                var input = ByteBufferAllocator().buffer(capacity: max(data.count, 16))
                input.writeBytes(data)
                while true {
                    let before = input.readableBytes
                    var full = false
                    do {
                        try decompressor.streamInflate(from: &input, to: &window)
                    } catch let error as CompressNIOError where error == .bufferOverflow {
                        full = true
                    } catch let error as CompressNIOError where error == .inputBufferOverflow {}
                    let produced = window.readableBytes
                    if let bytes = window.readBytes(length: produced), !bytes.isEmpty { try output(bytes) }
                    window.clear()
                    // Done when zlib neither filled the window nor has input left (or stopped taking it: the stream ended).
                    if !full && (input.readableBytes == 0 || (input.readableBytes == before && produced == 0)) { break }
                }
            } catch let error as FerryError {
                throw error
            } catch {
                throw FerryError(.invalidArgument, "a base layer is not valid gzip: \(error)")
            }
        }
    }
}
