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
    let policy: WebhookTarget.Policy

    func deliver(_ body: Data, jobID: String, attempt: Int, to url: String) async -> Outcome {
        let target: WebhookTarget
        do {
            target = try await WebhookTarget.resolve(url, policy: policy)
        } catch {
            // A refused address stays refused; a failed lookup may succeed later.
            return error.code == .invalidArgument ? .rejected(error.message) : .retry(error.message)
        }
        // A client of its own that follows no redirect (one could lead
        // anywhere, unchecked) and connects to the checked address, whatever
        // the host resolves to by then; TLS still verifies the host's name.
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        if let address = target.address { configuration.dnsOverride = [target.host: address] }
        let delivering = HTTPClient(eventLoopGroup: client.eventLoopGroup, configuration: configuration)
        let outcome = await post(body, jobID: jobID, attempt: attempt, to: url, with: delivering)
        try? await delivering.shutdown()
        return outcome
    }

    private func post(_ body: Data, jobID: String, attempt: Int, to url: String, with client: HTTPClient) async -> Outcome {
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
            case 300..<400: return .rejected("the receiver answered \(response.status.code) (webhooks follow no redirect)")
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

}
