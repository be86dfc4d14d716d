import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A statement parameter, sent in PostgreSQL's binary format with its type
/// named, so the server never has to guess (a `bytea` is never read as text).
public enum PostgresValue: Sendable {
    case null
    case text(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case bytes(ByteBuffer)
    case timestamp(Date)
    case textArray([String])

    static let postgresEpoch: Double = 946_684_800

    var typeOID: UInt32 {
        switch self {
        case .null: 0
        case .text: 25
        case .int: 20
        case .double: 701
        case .bool: 16
        case .bytes: 17
        case .timestamp: 1184
        case .textArray: 1009
        }
    }

    package func write(into buffer: inout ByteBuffer) {
        switch self {
        case .null:
            buffer.writeInteger(Int32(-1))
        case .text(let string):
            buffer.writeInteger(Int32(string.utf8.count))
            buffer.writeString(string)
        case .int(let value):
            buffer.writeInteger(Int32(8))
            buffer.writeInteger(Int64(value))
        case .double(let value):
            buffer.writeInteger(Int32(8))
            buffer.writeInteger(value.bitPattern)
        case .bool(let value):
            buffer.writeInteger(Int32(1))
            buffer.writeInteger(UInt8(value ? 1 : 0))
        case .bytes(let bytes):
            buffer.writeInteger(Int32(bytes.readableBytes))
            buffer.writeImmutableBuffer(bytes)
        case .timestamp(let date):
            buffer.writeInteger(Int32(8))
            buffer.writeInteger(Int64(((date.timeIntervalSince1970 - Self.postgresEpoch) * 1_000_000).rounded()))
        case .textArray(let strings):
            // One dimension, no nulls, text elements, lower bound 1.
            let lengthIndex = buffer.writerIndex
            buffer.writeInteger(Int32(0))
            buffer.writeMultipleIntegers(Int32(1), Int32(0), UInt32(25), Int32(strings.count), Int32(1))
            for string in strings {
                buffer.writeInteger(Int32(string.utf8.count))
                buffer.writeString(string)
            }
            buffer.setInteger(Int32(buffer.writerIndex - lengthIndex - 4), at: lengthIndex)
        }
    }
}

extension PostgresValue {
    public static func optional(_ string: String?) -> PostgresValue { string.map(PostgresValue.text) ?? .null }
    public static func optional(_ date: Date?) -> PostgresValue { date.map(PostgresValue.timestamp) ?? .null }
}
