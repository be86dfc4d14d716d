import FerryPostgres
import NIOCore
import Testing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The messages and values as PostgreSQL's protocol 3.0 lays them out, without a server.
struct WireFormatTests {
    @Test func readsAnErrorResponseWithItsSQLState() throws {
        var body = ByteBuffer()
        for (field, value) in [("S", "FATAL"), ("V", "FATAL"), ("C", "57P01"), ("M", "terminating connection"), ("D", "admin shutdown")] {
            body.writeInteger(UInt8(ascii: Unicode.Scalar(field)!))
            body.writeString(value)
            body.writeInteger(UInt8(0))
        }
        body.writeInteger(UInt8(0))
        guard case .error(let error, let fatal) = try BackendMessageDecoder.message(type: UInt8(ascii: "E"), body: &body) else {
            Issue.record("not an error")
            return
        }
        #expect(fatal)
        #expect(error.sqlState == "57P01" && error.message == "terminating connection" && error.detail == "admin shutdown")
        #expect(error.isConnectionFailure)
        #expect(!PostgresError(.server, "duplicate key", sqlState: "23505").isConnectionFailure)
    }

    @Test func refusesATruncatedDataRow() {
        var body = ByteBuffer()
        body.writeInteger(Int16(2))
        body.writeInteger(Int32(8))
        body.writeInteger(Int32(7))
        #expect(throws: PostgresError.self) { try BackendMessageDecoder.message(type: UInt8(ascii: "D"), body: &body) }
    }

    @Test func decodesBinaryColumnsByType() throws {
        let moment = Date(timeIntervalSince1970: 1_800_000_000.25)
        var values: [ByteBuffer?] = []
        for value: PostgresValue in [.int(-42), .double(2.5), .bool(true), .text("fähre"), .bytes(ByteBuffer(bytes: [0, 1, 255])), .timestamp(moment)] {
            var buffer = ByteBuffer()
            value.write(into: &buffer)
            let length = buffer.readInteger(as: Int32.self)!
            values.append(buffer.readSlice(length: Int(length)))
        }
        values.append(nil)
        let columns = [("i", 20), ("d", 701), ("b", 16), ("t", 25), ("y", 17), ("at", 1184), ("none", 25)].map {
            BackendMessage.Column(name: $0.0, typeOID: UInt32($0.1))
        }
        let row = try #require(PostgresRows(columns: columns, rows: [values], tag: "SELECT 1").rows.first)
        #expect(row.int("i") == -42)
        #expect(row.double("d") == 2.5)
        #expect(row.bool("b") == true)
        #expect(row.string("t") == "fähre")
        #expect(row.bytes("y").map { Array($0.readableBytesView) } == [0, 1, 255])
        #expect(row.date("at") == moment)
        #expect(row.isNull("none") && row.string("none") == nil)
        #expect(row.int("missing") == nil)
        #expect(PostgresRows(columns: [], rows: [], tag: "UPDATE 3").affectedRows == 3)
    }

    @Test func writesATextArrayAsOneDimension() {
        var buffer = ByteBuffer()
        PostgresValue.textArray(["a", "bc"]).write(into: &buffer)
        let length = buffer.readInteger(as: Int32.self)
        #expect(Int(length ?? 0) == buffer.readableBytes)
        // dimensions, has-nulls, element type text, length 2, lower bound 1, then each element
        #expect(buffer.readMultipleIntegers(as: (Int32, Int32, UInt32, Int32, Int32).self)! == (1, 0, 25, 2, 1))
        #expect(buffer.readInteger(as: Int32.self) == 1 && buffer.readString(length: 1) == "a")
        #expect(buffer.readInteger(as: Int32.self) == 2 && buffer.readString(length: 2) == "bc")
    }
}
