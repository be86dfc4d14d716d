import GRPCCore
import NIOCore
import SwiftProtobuf

/// A message's bytes as received, in a slice of the read buffer: what the
/// transport hands grpc-swift's services and what SwiftProtobuf decodes,
/// both without a copy.
struct GRPCMessageBytes: GRPCContiguousBytes, SwiftProtobufContiguousBytes, Sendable {
    var buffer: ByteBuffer

    init(_ buffer: ByteBuffer) {
        self.buffer = buffer
    }

    init(repeating: UInt8, count: Int) {
        buffer = ByteBuffer(repeating: repeating, count: count)
    }

    init<S: Sequence>(_ sequence: S) where S.Element == UInt8 {
        buffer = ByteBuffer(bytes: sequence)
    }

    var count: Int { buffer.readableBytes }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeReadableBytes(body)
    }

    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeMutableReadableBytes(body)
    }
}

/// A message SwiftProtobuf serializes straight into a gRPC frame: the
/// buffer starts with the 5-byte prefix (not compressed, the length), and
/// SwiftProtobuf sees only the bytes after it.
struct FramedMessage: SwiftProtobufContiguousBytes {
    private(set) var frame: ByteBuffer

    init(repeating: UInt8, count: Int) {
        frame = ByteBuffer()
        frame.reserveCapacity(5 + count)
        frame.writeInteger(UInt8(0))
        frame.writeInteger(UInt32(count))
        frame.writeRepeatingByte(repeating, count: count)
    }

    init<S: Sequence>(_ sequence: S) where S.Element == UInt8 {
        let bytes = Array(sequence)
        self.init(repeating: 0, count: bytes.count)
        frame.setBytes(bytes, at: 5)
    }

    var count: Int { frame.readableBytes - 5 }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try frame.withUnsafeReadableBytes { try body(UnsafeRawBufferPointer(rebasing: $0.dropFirst(5))) }
    }

    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try frame.withUnsafeMutableReadableBytes { try body(UnsafeMutableRawBufferPointer(rebasing: $0.dropFirst(5))) }
    }
}
