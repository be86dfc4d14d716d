import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The rows of one statement's result, every column in binary format.
public struct PostgresRows: Sendable {
    let columns: [BackendMessage.Column]
    let indices: [String: Int]
    public let rows: [PostgresRow]
    /// The command tag, e.g. "UPDATE 3".
    public let tag: String

    package init(columns: [BackendMessage.Column], rows: [[ByteBuffer?]], tag: String) {
        self.columns = columns
        var indices: [String: Int] = [:]
        for (index, column) in columns.enumerated() where indices[column.name] == nil { indices[column.name] = index }
        self.indices = indices
        self.tag = tag
        let shared = PostgresRow.Layout(columns: columns, indices: indices)
        self.rows = rows.map { PostgresRow(layout: shared, values: $0) }
    }

    /// The number of rows a command touched (the last word of its tag).
    public var affectedRows: Int { tag.split(separator: " ").last.flatMap { Int($0) } ?? 0 }
}

public struct PostgresRow: Sendable {
    final class Layout: Sendable {
        let columns: [BackendMessage.Column]
        let indices: [String: Int]
        init(columns: [BackendMessage.Column], indices: [String: Int]) {
            self.columns = columns
            self.indices = indices
        }
    }

    let layout: Layout
    let values: [ByteBuffer?]

    private func value(_ name: String) -> (ByteBuffer, UInt32)? {
        guard let index = layout.indices[name], let value = values[index] else { return nil }
        return (value, layout.columns[index].typeOID)
    }

    public func isNull(_ name: String) -> Bool { value(name) == nil }

    public func string(_ name: String) -> String? {
        guard let (buffer, _) = value(name) else { return nil }
        return String(buffer: buffer)
    }

    public func int(_ name: String) -> Int? {
        guard let (buffer, type) = value(name) else { return nil }
        switch type {
        case 20: return buffer.getInteger(at: buffer.readerIndex, as: Int64.self).map(Int.init)
        case 23, 26: return buffer.getInteger(at: buffer.readerIndex, as: Int32.self).map(Int.init)
        case 21: return buffer.getInteger(at: buffer.readerIndex, as: Int16.self).map(Int.init)
        default: return nil
        }
    }

    public func double(_ name: String) -> Double? {
        guard let (buffer, type) = value(name) else { return nil }
        switch type {
        case 701: return buffer.getInteger(at: buffer.readerIndex, as: UInt64.self).map(Double.init(bitPattern:))
        case 700: return buffer.getInteger(at: buffer.readerIndex, as: UInt32.self).map { Double(Float(bitPattern: $0)) }
        default: return int(name).map(Double.init)
        }
    }

    public func bool(_ name: String) -> Bool? {
        guard let (buffer, type) = value(name), type == 16 else { return nil }
        return buffer.getInteger(at: buffer.readerIndex, as: UInt8.self).map { $0 != 0 }
    }

    public func bytes(_ name: String) -> ByteBuffer? { value(name)?.0 }

    /// A `timestamptz` (microseconds since 2000-01-01 UTC).
    public func date(_ name: String) -> Date? {
        guard let (buffer, type) = value(name), type == 1184 || type == 1114,
            let microseconds = buffer.getInteger(at: buffer.readerIndex, as: Int64.self)
        else { return nil }
        return Date(timeIntervalSince1970: PostgresValue.postgresEpoch + Double(microseconds) / 1_000_000)
    }
}
