import NIOCore

/// A message from the server (protocol 3.0), as far as this client reads them.
package enum BackendMessage: Sendable {
    /// The one-byte answer to an SSLRequest: true for 'S'.
    case sslResponse(Bool)
    case authentication(Authentication)
    case parameterStatus(name: String, value: String)
    case backendKeyData
    case readyForQuery
    case rowDescription([Column])
    case dataRow([ByteBuffer?])
    case commandComplete(String)
    case emptyQueryResponse
    case parseComplete, bindComplete, closeComplete, noData, parameterDescription
    case error(PostgresError, fatal: Bool)
    case notice
    case notification(PostgresNotification)
    case other(UInt8)

    package enum Authentication: Sendable {
        case ok
        case cleartextPassword
        case md5Password(salt: [UInt8])
        case sasl(mechanisms: [String])
        case saslContinue([UInt8])
        case saslFinal([UInt8])
        case unsupported(Int32)
    }

    package struct Column: Sendable {
        package var name: String
        package var typeOID: UInt32

        package init(name: String, typeOID: UInt32) {
            self.name = name
            self.typeOID = typeOID
        }
    }
}

/// A NOTIFY the server passed on to a listening session.
public struct PostgresNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String
}

/// Splits the byte stream into messages: a type byte, a 4-byte length that
/// counts itself, the body. Before TLS is negotiated the server answers an
/// SSLRequest with one bare byte, which `expectingSSLResponse` reads.
package struct BackendMessageDecoder: ByteToMessageDecoder {
    package typealias InboundOut = BackendMessage

    var expectingSSLResponse: Bool
    /// No message this client reads comes near this; a length beyond it means a broken stream.
    static let maximumMessageBytes = 1 << 30

    package mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if expectingSSLResponse {
            guard let byte = buffer.readInteger(as: UInt8.self) else { return .needMoreData }
            expectingSSLResponse = false
            context.fireChannelRead(Self.wrapInboundOut(.sslResponse(byte == UInt8(ascii: "S"))))
            return .continue
        }
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
            let length = buffer.getInteger(at: buffer.readerIndex + 1, as: Int32.self)
        else { return .needMoreData }
        guard length >= 4, Int(length) <= Self.maximumMessageBytes else {
            throw PostgresError(.protocolViolation, "the server sent a message of length \(length)")
        }
        guard buffer.readableBytes >= 1 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 5)
        var body = buffer.readSlice(length: Int(length) - 4)!
        context.fireChannelRead(Self.wrapInboundOut(try Self.message(type: type, body: &body)))
        return .continue
    }

    package mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    package static func message(type: UInt8, body: inout ByteBuffer) throws -> BackendMessage {
        switch type {
        case UInt8(ascii: "R"): return .authentication(try authentication(&body))
        case UInt8(ascii: "S"): return .parameterStatus(name: try body.readCString(), value: try body.readCString())
        case UInt8(ascii: "K"): return .backendKeyData
        case UInt8(ascii: "Z"): return .readyForQuery
        case UInt8(ascii: "T"): return .rowDescription(try columns(&body))
        case UInt8(ascii: "D"): return .dataRow(try values(&body))
        case UInt8(ascii: "C"): return .commandComplete(try body.readCString())
        case UInt8(ascii: "I"): return .emptyQueryResponse
        case UInt8(ascii: "1"): return .parseComplete
        case UInt8(ascii: "2"): return .bindComplete
        case UInt8(ascii: "3"): return .closeComplete
        case UInt8(ascii: "n"): return .noData
        case UInt8(ascii: "t"): return .parameterDescription
        case UInt8(ascii: "E"): return try error(&body)
        case UInt8(ascii: "N"): return .notice
        case UInt8(ascii: "A"):
            _ = body.readInteger(as: Int32.self)
            return .notification(PostgresNotification(channel: try body.readCString(), payload: try body.readCString()))
        default: return .other(type)
        }
    }

    private static func authentication(_ body: inout ByteBuffer) throws -> BackendMessage.Authentication {
        guard let code = body.readInteger(as: Int32.self) else { throw truncated("Authentication") }
        switch code {
        case 0: return .ok
        case 3: return .cleartextPassword
        case 5:
            guard let salt = body.readBytes(length: 4) else { throw truncated("AuthenticationMD5Password") }
            return .md5Password(salt: salt)
        case 10:
            var mechanisms: [String] = []
            while body.readableBytes > 1 { mechanisms.append(try body.readCString()) }
            return .sasl(mechanisms: mechanisms)
        case 11: return .saslContinue(body.readBytes(length: body.readableBytes) ?? [])
        case 12: return .saslFinal(body.readBytes(length: body.readableBytes) ?? [])
        default: return .unsupported(code)
        }
    }

    private static func columns(_ body: inout ByteBuffer) throws -> [BackendMessage.Column] {
        guard let count = body.readInteger(as: Int16.self) else { throw truncated("RowDescription") }
        return try (0..<Int(count)).map { _ in
            let name = try body.readCString()
            // table OID, column number, type OID, type size, type modifier, format
            guard let fields = body.readMultipleIntegers(as: (UInt32, Int16, UInt32, Int16, Int32, Int16).self) else {
                throw truncated("RowDescription")
            }
            return BackendMessage.Column(name: name, typeOID: fields.2)
        }
    }

    private static func values(_ body: inout ByteBuffer) throws -> [ByteBuffer?] {
        guard let count = body.readInteger(as: Int16.self) else { throw truncated("DataRow") }
        return try (0..<Int(count)).map { _ in
            guard let length = body.readInteger(as: Int32.self) else { throw truncated("DataRow") }
            if length < 0 { return nil }
            guard let value = body.readSlice(length: Int(length)) else { throw truncated("DataRow") }
            return value
        }
    }

    private static func error(_ body: inout ByteBuffer) throws -> BackendMessage {
        var fields: [UInt8: String] = [:]
        while let field = body.readInteger(as: UInt8.self), field != 0 { fields[field] = try body.readCString() }
        let severity = fields[UInt8(ascii: "V")] ?? fields[UInt8(ascii: "S")] ?? "ERROR"
        let error = PostgresError(
            .server, fields[UInt8(ascii: "M")] ?? "the server reported an error", sqlState: fields[UInt8(ascii: "C")] ?? "",
            detail: fields[UInt8(ascii: "D")])
        return .error(error, fatal: severity == "FATAL" || severity == "PANIC")
    }

    private static func truncated(_ message: String) -> PostgresError {
        PostgresError(.protocolViolation, "the server sent a truncated \(message) message")
    }
}

extension ByteBuffer {
    mutating func readCString() throws -> String {
        guard let end = readableBytesView.firstIndex(of: 0) else {
            throw PostgresError(.protocolViolation, "the server sent a string without its terminating zero")
        }
        let string = readString(length: end - readerIndex) ?? ""
        moveReaderIndex(forwardBy: 1)
        return string
    }

    mutating func writeCString(_ string: String) {
        writeString(string)
        writeInteger(UInt8(0))
    }
}
