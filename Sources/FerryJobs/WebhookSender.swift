import AsyncHTTPClient
import Crypto
import FerryCore
import FerryServing
import NIOCore
import NIOHTTP1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// POSTs a finished job's document to the URL its request named. With a
/// secret, `Ferry-Signature-256: sha256=HEX` carries the HMAC-SHA256 of the
/// body, as GitHub signs its webhooks, so a receiver can check the sender.
struct WebhookSender: Sendable {
    static let signatureHeader = "Ferry-Signature-256"

    enum Outcome: Sendable, Equatable {
        case delivered
        /// Worth another try later (no connection, timeout, 408/429/5xx).
        case retry(String)
        /// The receiver refused the delivery for good (another 4xx).
        case rejected(String)
    }

    let client: HTTPClient
    let secret: [UInt8]?
    let timeout: Duration

    func deliver(_ body: Data, jobID: String, attempt: Int, to url: String) async -> Outcome {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "\(InferenceServer.name)/\(InferenceServer.version)")
        request.headers.add(name: "Ferry-Job-Id", value: jobID)
        request.headers.add(name: "Ferry-Delivery-Attempt", value: String(attempt))
        if let secret { request.headers.add(name: Self.signatureHeader, value: Self.signature(of: body, secret: secret)) }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout / .milliseconds(1))))
            // The receiver's answer is read only so the connection can be reused.
            _ = try? await response.body.collect(upTo: 64 << 10)
            switch response.status.code {
            case 200..<300: return .delivered
            case 408, 425, 429, 500..<600: return .retry("the receiver answered \(response.status.code)")
            default: return .rejected("the receiver answered \(response.status.code)")
            }
        } catch {
            return .retry("\(error)")
        }
    }

    static func signature(of body: Data, secret: [UInt8]) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: secret))
        return "sha256=" + code.hexString
    }

    /// A URL a webhook may be sent to: absolute http or https with a host.
    static func validate(_ url: String) throws(FerryError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else {
            throw FerryError(.invalidArgument, "the 'webhook' parameter must be an http:// or https:// URL, not '\(url)'")
        }
    }
}
