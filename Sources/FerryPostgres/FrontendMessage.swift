import NIOCore

/// The messages this client sends (protocol 3.0), written straight into a buffer.
enum FrontendMessage {
    static let sslRequestCode: Int32 = 80_877_103

    static func sslRequest(into buffer: inout ByteBuffer) {
        buffer.writeInteger(Int32(8))
        buffer.writeInteger(sslRequestCode)
    }

    static func startup(user: String, database: String, parameters: [(String, String)], into buffer: inout ByteBuffer) {
        body(type: nil, into: &buffer) { buffer in
            buffer.writeInteger(Int32(3 << 16))
            for (name, value) in [("user", user), ("database", database)] + parameters {
                buffer.writeCString(name)
                buffer.writeCString(value)
            }
            buffer.writeInteger(UInt8(0))
        }
    }

    static func password(_ password: String, into buffer: inout ByteBuffer) {
        body(type: "p", into: &buffer) { $0.writeCString(password) }
    }

    static func saslInitialResponse(mechanism: String, data: [UInt8], into buffer: inout ByteBuffer) {
        body(type: "p", into: &buffer) { buffer in
            buffer.writeCString(mechanism)
            buffer.writeInteger(Int32(data.count))
            buffer.writeBytes(data)
        }
    }

    static func saslResponse(_ data: [UInt8], into buffer: inout ByteBuffer) {
        body(type: "p", into: &buffer) { $0.writeBytes(data) }
    }

    static func query(_ sql: String, into buffer: inout ByteBuffer) {
        body(type: "Q", into: &buffer) { $0.writeCString(sql) }
    }

    /// Parse (unless `statement` is already prepared), Bind, Describe and
    /// Execute, then Sync: one round trip. Parameters go in binary with their
    /// types named, and every result column comes back in binary.
    static func extendedQuery(
        _ sql: String, _ parameters: [PostgresValue], statement: String, parse: Bool, into buffer: inout ByteBuffer
    ) {
        if parse {
            body(type: "P", into: &buffer) { buffer in
                buffer.writeCString(statement)
                buffer.writeCString(sql)
                buffer.writeInteger(Int16(parameters.count))
                for parameter in parameters { buffer.writeInteger(parameter.typeOID) }
            }
        }
        body(type: "B", into: &buffer) { buffer in
            buffer.writeCString("")
            buffer.writeCString(statement)
            buffer.writeInteger(Int16(1))
            buffer.writeInteger(Int16(1))
            buffer.writeInteger(Int16(parameters.count))
            for parameter in parameters { parameter.write(into: &buffer) }
            buffer.writeInteger(Int16(1))
            buffer.writeInteger(Int16(1))
        }
        body(type: "D", into: &buffer) { buffer in
            buffer.writeInteger(UInt8(ascii: "P"))
            buffer.writeCString("")
        }
        body(type: "E", into: &buffer) { buffer in
            buffer.writeCString("")
            buffer.writeInteger(Int32(0))
        }
        body(type: "S", into: &buffer) { _ in }
    }

    static func terminate(into buffer: inout ByteBuffer) {
        body(type: "X", into: &buffer) { _ in }
    }

    /// Writes the type byte (none for startup messages), then the body behind its length.
    private static func body(type: Character?, into buffer: inout ByteBuffer, _ write: (inout ByteBuffer) -> Void) {
        if let type { buffer.writeInteger(UInt8(ascii: type.unicodeScalars.first!)) }
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(Int32(0))
        write(&buffer)
        buffer.setInteger(Int32(buffer.writerIndex - lengthIndex), at: lengthIndex)
    }
}
