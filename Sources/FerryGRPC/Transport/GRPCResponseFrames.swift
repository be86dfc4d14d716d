import NIOCore
import NIOHPACK
import NIOHTTP2

/// The HTTP/2 frames of a gRPC response: headers, length-prefixed
/// messages, and the status in trailers (or alone, "Trailers-Only", when no
/// message was sent).
enum GRPCResponseFrames {
    static let headers: HTTP2Frame.FramePayload = .headers(
        .init(headers: [":status": "200", "content-type": "application/grpc"]))

    static func data(_ message: ByteBuffer) -> HTTP2Frame.FramePayload {
        .data(.init(data: .byteBuffer(message)))
    }

    /// The closing status; `trailersOnly` when no headers went out before it.
    static func status(_ code: Int, message: String?, trailersOnly: Bool) -> HTTP2Frame.FramePayload {
        var fields: HPACKHeaders = [:]
        if trailersOnly {
            fields.add(name: ":status", value: "200")
            fields.add(name: "content-type", value: "application/grpc")
        }
        fields.add(name: "grpc-status", value: String(code))
        if let message, !message.isEmpty {
            fields.add(name: "grpc-message", value: percentEncoded(message))
        }
        return .headers(.init(headers: fields, endStream: true))
    }

    /// `grpc-message` is percent-encoded: every byte outside printable
    /// ASCII, and `%` itself (gRPC over HTTP/2, "Responses").
    static func percentEncoded(_ text: String) -> String {
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 < 0x20 || $0 > 0x7E || $0 == UInt8(ascii: "%") }) else { return text }
        let digits = Array("0123456789ABCDEF".utf8)
        var encoded: [UInt8] = []
        encoded.reserveCapacity(utf8.count * 3)
        for byte in utf8 {
            if byte < 0x20 || byte > 0x7E || byte == UInt8(ascii: "%") {
                encoded += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0xF)]]
            } else {
                encoded.append(byte)
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }

    /// `grpc-timeout`: at most 8 digits and a unit (H, M, S, m, u, n).
    static func timeout(_ value: String) -> TimeAmount? {
        guard let unit = value.utf8.last, value.utf8.count >= 2, value.utf8.count <= 9,
            let amount = Int64(value.dropLast()), amount >= 0
        else { return nil }
        switch unit {
        case UInt8(ascii: "H"): return .hours(amount)
        case UInt8(ascii: "M"): return .minutes(amount)
        case UInt8(ascii: "S"): return .seconds(amount)
        case UInt8(ascii: "m"): return .milliseconds(amount)
        case UInt8(ascii: "u"): return .microseconds(amount)
        case UInt8(ascii: "n"): return .nanoseconds(amount)
        default: return nil
        }
    }
}
