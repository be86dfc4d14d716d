import CompressNIO
import Crypto
import FerryCore
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How a layer is stored. Model weights barely compress (gzip gained nothing
/// on random data here and ran at 16–30 MB/s), so `automatic` compresses code
/// and libraries and stores model layers as they are.
public enum LayerCompression: String, Sendable, CaseIterable {
    case gzip, none, automatic
}

/// A layer written to the blob store: the digest and size of what is stored,
/// and the digest of the uncompressed tar (the config's `diff_id`).
public struct Layer: Sendable, Hashable {
    public var digest: Digest
    public var size: Int
    public var diffID: Digest
    public var gzipped: Bool
    /// What it holds, for the build output ("runtime", "model digits").
    public var title: String

    public var mediaType: String {
        gzipped ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar"
    }
}

/// Streams a tar of `entries` into a file, hashing it before and after gzip,
/// so a layer of any size is packed in constant memory.
struct LayerWriter {
    let modificationTime: Int

    /// `written` is told the count of each piece of tar written (before compression).
    func write(
        _ entries: [TarEntry], title: String, gzip: Bool, to file: URL, written: @escaping (Int) -> Void = { _ in }
    ) throws(FerryError) -> Layer {
        let output = try OutputFile(file.path)
        var uncompressed = SHA256()
        var stored = SHA256()
        var size = 0
        func store(_ data: Data) throws(FerryError) {
            stored.update(data: data)
            size += data.count
            try output.write(data)
        }
        let compressor: (any NIOCompressor)? = gzip ? CompressionAlgorithm.gzip().compressor : nil
        if let compressor {
            compressor.window = ByteBufferAllocator().buffer(capacity: 1 << 16)
            do { try compressor.startStream() } catch { throw FerryError(.internal, "gzip: \(error)") }
        }
        func deflate(_ data: Data, finish: Bool) throws(FerryError) {
            guard let compressor else { return try store(data) }
            var input = ByteBuffer(bytes: data)
            var failure: FerryError?
            do {
                try input.compressStream(with: compressor, flush: finish ? .finish : .no) { window in
                    do throws(FerryError) { try store(Data(window.readableBytesView)) } catch { failure = error }
                }
            } catch {
                throw FerryError(.internal, "gzip: \(error)")
            }
            if let failure { throw failure }
        }
        let tar = TarWriter(modificationTime: modificationTime) { (data: Data) throws(FerryError) in
            uncompressed.update(data: data)
            try deflate(data, finish: false)
            written(data.count)
        }
        try tar.write(entries)
        if let compressor {
            try deflate(Data(), finish: true)
            do { try compressor.finishStream() } catch { throw FerryError(.internal, "gzip: \(error)") }
        }
        return Layer(
            digest: Digest(stored.finalize()), size: size, diffID: Digest(uncompressed.finalize()), gzipped: gzip, title: title)
    }
}
