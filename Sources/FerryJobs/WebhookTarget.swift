import FerryCore
import NIOPosix

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Where a webhook may go. A client names the URL, and the server sends the
/// POST from inside its network: left unchecked, a job could make Ferry post
/// to its own ports, to a cloud's metadata address (169.254.169.254) or to
/// any private service. So, unless the operator allows them, a webhook must
/// be https and its host must resolve to public addresses only; the delivery
/// then connects to the address that was checked, not to a second lookup.
struct WebhookTarget: Sendable {
    /// What the operator allows beyond public https endpoints.
    struct Policy: Sendable {
        var allowPrivate = false
        var allowHTTP = false
    }

    let host: String
    /// The checked address to connect to; nil when private ones are allowed
    /// and the client resolves as usual.
    let address: String?

    /// The checks that need no lookup, at submission: the scheme, a host,
    /// and an address written in the URL.
    static func validate(_ url: String, policy: Policy) throws(FerryError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else {
            throw FerryError(.invalidArgument, "the 'webhook' parameter must be an http:// or https:// URL, not '\(url)'")
        }
        // The host the address is pinned to must be the very name the HTTP
        // client connects to: plain ASCII, no percent-encoding to differ on.
        guard host.utf8.allSatisfy({ $0 < 0x80 && $0 != UInt8(ascii: "%") }) else {
            throw FerryError(.invalidArgument, "the 'webhook' URL's host must be plain ASCII (IDNA-encoded), not '\(host)'")
        }
        if scheme == "http" && !policy.allowHTTP {
            throw FerryError(
                .invalidArgument,
                "the 'webhook' URL must use https (this server was not started with --webhook-allow-http)")
        }
        guard !policy.allowPrivate else { return }
        // A name is checked when the delivery resolves it.
        if let address = IPAddress(Self.bare(host)), let range = address.nonPublicRange {
            throw refusal(host: host, address: nil, range: range)
        }
    }

    /// Resolves the URL's host and checks every address it has: one private
    /// address is enough to refuse, since a later lookup might return it.
    static func resolve(_ url: String, policy: Policy) async throws(FerryError) -> WebhookTarget {
        try validate(url, policy: policy)
        guard let host = URLComponents(string: url)?.host else {
            throw FerryError(.invalidArgument, "the 'webhook' URL has no host")
        }
        guard !policy.allowPrivate else { return WebhookTarget(host: host, address: nil) }
        let name = bare(host)
        if IPAddress(name) != nil { return WebhookTarget(host: host, address: name) }
        let addresses: [IPAddress]
        do {
            addresses = try await NIOThreadPool.singleton.runIfActive { Self.lookUp(name) }
        } catch {
            throw FerryError(.unavailable, "the webhook's host '\(host)' could not be resolved")
        }
        guard let first = addresses.first else {
            throw FerryError(.unavailable, "the webhook's host '\(host)' could not be resolved")
        }
        for address in addresses {
            if let range = address.nonPublicRange { throw refusal(host: host, address: address, range: range) }
        }
        return WebhookTarget(host: host, address: first.description)
    }

    private static func refusal(host: String, address: IPAddress?, range: String) -> FerryError {
        let what = address.map { "resolves to \($0), a \(range) address" } ?? "is a \(range) address"
        return FerryError(
            .invalidArgument,
            "the webhook's host '\(host)' \(what); webhooks go to public addresses only unless ferry serve runs with --webhook-allow-private"
        )
    }

    /// A host as URLComponents gives it, without the brackets of an IPv6 literal.
    private static func bare(_ host: String) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }

    private static func lookUp(_ name: String) -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &list) == 0, let list else { return [] }
        defer { freeaddrinfo(list) }
        var addresses: [IPAddress] = []
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            if let address = current.pointee.ai_addr.flatMap(IPAddress.init(socketAddress:)) { addresses.append(address) }
            entry = current.pointee.ai_next
        }
        return addresses
    }
}

/// An IPv4 or IPv6 address, and whether it lies in a range that is not the
/// public internet.
struct IPAddress: Sendable, CustomStringConvertible {
    /// 4 or 16 bytes, network order.
    let bytes: [UInt8]

    init?(_ text: String) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            return nil
        }
    }

    init?(socketAddress: UnsafeMutablePointer<sockaddr>) {
        switch Int32(socketAddress.pointee.sa_family) {
        case AF_INET:
            bytes = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
            }
        case AF_INET6:
            bytes = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
            }
        default:
            return nil
        }
    }

    var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let written = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        guard written != nil else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The name of the non-public range holding the address, or nil for a public one.
    var nonPublicRange: String? {
        if bytes.count == 4 { return Self.v4Range(bytes) }
        let b = bytes
        if b.allSatisfy({ $0 == 0 }) { return "unspecified" }
        if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return "loopback" }
        // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry an IPv4 address.
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF { return Self.v4Range(Array(b[12..<16])) }
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && b[4..<12].allSatisfy({ $0 == 0 }) {
            return Self.v4Range(Array(b[12..<16]))
        }
        // Deprecated IPv4-compatible (::a.b.c.d), local-use NAT64 (64:ff9b:1::/48), discard-only (100::/64).
        if b[0..<12].allSatisfy({ $0 == 0 }) { return "reserved (IPv4-compatible)" }
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && b[4] == 0x00 && b[5] == 0x01 { return "private (local NAT64)" }
        if b[0] == 0x01 && b[1] == 0x00 && b[2..<8].allSatisfy({ $0 == 0 }) { return "reserved (discard)" }
        if b[0] == 0xFE && b[1] & 0xC0 == 0xC0 { return "private (site-local)" }
        if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return "link-local" }
        if b[0] & 0xFE == 0xFC { return "private (unique local)" }
        if b[0] == 0xFF { return "multicast" }
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8 { return "documentation" }
        return nil
    }

    private static func v4Range(_ b: [UInt8]) -> String? {
        switch (b[0], b[1]) {
        case (0, _): return "unspecified"
        case (10, _): return "private"
        case (100, 64...127): return "shared (carrier-grade NAT)"
        case (127, _): return "loopback"
        case (169, 254): return "link-local"
        case (172, 16...31): return "private"
        case (192, 0) where b[2] == 0: return "reserved (IETF protocol assignments)"
        case (192, 168): return "private"
        case (198, 18...19): return "reserved (benchmarking)"
        case (224...239, _): return "multicast"
        case (240...255, _): return "reserved"
        default: return nil
        }
    }
}
