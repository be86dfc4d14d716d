import NIOCore

/// Splits a gRPC request body into messages: each is a 1-byte compressed
/// flag, a 4-byte big-endian length, then that many bytes (gRPC over HTTP/2,
/// "Length-Prefixed-Message"). DATA frames cut messages anywhere; bytes are
/// kept until a message is whole, and a message longer than `limit` is
/// refused from its prefix, before its body is buffered.
struct GRPCMessageReader {
    enum Failure: Error, Equatable {
        /// The length prefix announces more than `limit` bytes.
        case tooLarge(length: Int)
        /// The compressed flag is set, but the request named no `grpc-encoding`.
        case compressedWithoutEncoding

        /// The gRPC status that ends the call: RESOURCE_EXHAUSTED naming
        /// `--max-request-bytes` (`tensorLimit`), or INTERNAL.
        func status(tensorLimit: Int) -> (code: Int, message: String) {
            switch self {
            case .tooLarge(let length):
                (8, "request message of \(length) bytes is larger than the server accepts (\(tensorLimit) bytes of tensor data, --max-request-bytes)")
            case .compressedWithoutEncoding:
                (13, "a request message is marked compressed, but the request names no grpc-encoding")
            }
        }
    }

    let limit: Int
    private var buffered: ByteBuffer?

    init(limit: Int) {
        self.limit = limit
    }

    /// Whether bytes of an unfinished message are waiting.
    var hasPartialMessage: Bool { (buffered?.readableBytes ?? 0) > 0 }

    mutating func append(_ bytes: ByteBuffer) {
        if buffered == nil || buffered!.readableBytes == 0 {
            buffered = bytes
        } else {
            var bytes = bytes
            buffered!.writeBuffer(&bytes)
        }
    }

    /// The next whole message, or nil until more bytes arrive.
    mutating func next() throws(Failure) -> ByteBuffer? {
        guard var buffer = buffered, buffer.readableBytes >= 5 else { return nil }
        let flag = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self)!
        let length = Int(buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self)!)
        guard length <= limit else { throw .tooLarge(length: length) }
        guard flag == 0 else { throw .compressedWithoutEncoding }
        guard buffer.readableBytes >= 5 + length else {
            // Room for the rest now, so the frames still to come are not copied twice.
            if buffer.capacity - buffer.readerIndex < 5 + length {
                buffer.reserveCapacity(minimumWritableBytes: 5 + length - buffer.readableBytes)
                buffered = buffer
            }
            return nil
        }
        buffer.moveReaderIndex(forwardBy: 5)
        let message = buffer.readSlice(length: length)!
        buffered = buffer
        return message
    }
}
