import FerryCore

/// One challenge of a `WWW-Authenticate` header (RFC 9110, section 11.6.1):
/// a scheme and its parameters, as a registry sends them with a 401.
///
/// The distribution token spec names the parameters a client needs:
/// `Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/app:pull,push"`.
package struct AuthenticationChallenge: Sendable, Hashable {
    /// `bearer` or `basic`, lowercased (schemes are case-insensitive).
    package var scheme: String
    /// Parameter names lowercased; values unquoted.
    package var parameters: [String: String]

    package var realm: String? { parameters["realm"] }
    package var service: String? { parameters["service"] }
    /// Space-separated scopes (`repository:a:pull repository:b:pull,push`).
    package var scopes: [String] { parameters["scope"]?.split(separator: " ").map(String.init) ?? [] }

    /// The challenges of one header value, in order; an unparsable value gives none.
    package static func parse(_ header: String) -> [AuthenticationChallenge] {
        var scanner = Scanner(Array(header.utf8))
        var challenges: [AuthenticationChallenge] = []
        while true {
            scanner.skip(whitespaceAndCommas: true)
            guard let scheme = scanner.token(), !scheme.isEmpty else { break }
            var challenge = AuthenticationChallenge(scheme: scheme.lowercased(), parameters: [:])
            // auth-params: name = (token | quoted-string), separated by commas; a
            // token followed by anything but "=" starts the next challenge.
            while true {
                scanner.skip(whitespaceAndCommas: true)
                let mark = scanner.position
                guard let name = scanner.token(), !name.isEmpty else { break }
                scanner.skip(whitespaceAndCommas: false)
                guard scanner.consume(UInt8(ascii: "=")) else {
                    scanner.position = mark
                    break
                }
                scanner.skip(whitespaceAndCommas: false)
                guard let value = scanner.quotedString() ?? scanner.token() else { break }
                challenge.parameters[name.lowercased()] = value
            }
            challenges.append(challenge)
        }
        return challenges
    }

    private struct Scanner {
        let bytes: [UInt8]
        var position = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        mutating func skip(whitespaceAndCommas: Bool) {
            while position < bytes.count,
                bytes[position] == UInt8(ascii: " ") || bytes[position] == UInt8(ascii: "\t")
                    || (whitespaceAndCommas && bytes[position] == UInt8(ascii: ","))
            {
                position += 1
            }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        /// RFC 9110 `token` (tchar+), also the `token68` of a bare credential.
        mutating func token() -> String? {
            let start = position
            while position < bytes.count, Self.isTokenCharacter(bytes[position]) { position += 1 }
            return position > start ? String(decoding: bytes[start..<position], as: UTF8.self) : nil
        }

        mutating func quotedString() -> String? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            var value: [UInt8] = []
            while position < bytes.count {
                let byte = bytes[position]
                position += 1
                if byte == UInt8(ascii: "\"") { return String(decoding: value, as: UTF8.self) }
                if byte == UInt8(ascii: "\\"), position < bytes.count {
                    value.append(bytes[position])
                    position += 1
                } else {
                    value.append(byte)
                }
            }
            return String(decoding: value, as: UTF8.self)
        }

        static func isTokenCharacter(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            default:
                "!#$%&'*+-.^_`|~/:".utf8.contains(byte)
            }
        }
    }
}
