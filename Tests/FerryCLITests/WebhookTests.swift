import Crypto
import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization
import Testing

/// A local HTTP server standing in for a client's webhook endpoint: it fails
/// the first `failures` deliveries with 503, then accepts.
final class WebhookReceiver: Sendable {
    struct Delivery: Sendable {
        var body: Data
        var signature: String?
        var attempt: String?
        var jobID: String?
    }

    /// A class, so the route can capture it before `self` is whole.
    private final class Received: Sendable {
        let deliveries = Mutex<[Delivery]>([])
    }

    private let received = Received()
    private let server: LocalHTTPServer
    let failures: Int

    init(failures: Int) async throws {
        self.failures = failures
        let router = Router()
        router.post("/hook") { [received] request, _ -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 16 << 20)
            let count = received.deliveries.withLock { deliveries in
                deliveries.append(
                    Delivery(
                        body: Data(body.readableBytesView),
                        signature: request.headers[HTTPField.Name("Ferry-Signature-256")!],
                        attempt: request.headers[HTTPField.Name("Ferry-Delivery-Attempt")!],
                        jobID: request.headers[HTTPField.Name("Ferry-Job-Id")!]))
                return deliveries.count
            }
            return count <= failures ? .serviceUnavailable : .noContent
        }
        router.post("/gone") { _, _ -> HTTPResponse.Status in .notFound }
        // A redirect to the receiver's own /hook: followed, it would be a delivery.
        router.post("/moved") { _, _ -> Response in
            Response(status: .temporaryRedirect, headers: [.location: "/hook"])
        }
        server = try await LocalHTTPServer(router, name: "the webhook receiver")
    }

    var url: String { server.url }
    var deliveries: [Delivery] { received.deliveries.withLock { $0 } }

    func stop() { server.stop() }
}

@Suite("webhooks of async jobs")
struct WebhookTests {
    /// The test receivers listen on loopback over plain http.
    static let allowLocalReceivers = ["--webhook-allow-private", "--webhook-allow-http"]

    @Test("by default a webhook must be https to a public address: literal private addresses are refused at once, names when resolved")
    func privateAddressesRefused() async throws {
        let receiver = try await WebhookReceiver(failures: 0)
        defer { receiver.stop() }
        let server = try ServerProcess(models: ["mlp"], arguments: ["--webhook-backoff", "100ms"])
        let base = "http://127.0.0.1:\(try await server.port("HTTP/REST listening"))"
        try await server.waitUntilModelsReady(count: 1)
        func submit(_ url: String) async throws -> HTTPCall {
            try await HTTPCall.send(
                .POST, "\(base)/v2/models/mlp/infer", body: AsyncJobTests.mlpRequest(parameters: #""parameters":{"webhook":"\#(url)"},"#),
                headers: [("Prefer", "respond-async")])
        }
        let plain = try await submit("http://example.com/hook")
        #expect(plain.status == 400)
        #expect(plain.text.contains("the 'webhook' URL must use https (this server was not started with --webhook-allow-http)"))
        for (url, range) in [
            ("https://127.0.0.1:9/hook", "loopback"), ("https://169.254.169.254/latest/meta-data", "link-local"),
            ("https://10.1.2.3/", "private"), ("https://192.168.0.1/", "private"), ("https://[::1]/", "loopback"),
            ("https://[::ffff:127.0.0.1]/", "loopback"), ("https://[fd00::1]/", "private (unique local)"), ("https://0.0.0.0/", "unspecified"),
        ] {
            let answer = try await submit(url)
            #expect(answer.status == 400, "\(url): \(answer.text)")
            #expect(answer.text.contains("is a \(range) address; webhooks go to public addresses only"), "\(url): \(answer.text)")
        }
        // A name passes submission; the delivery resolves it, finds loopback, and gives up without retrying.
        let server2 = try ServerProcess(models: ["mlp"], arguments: ["--webhook-backoff", "100ms", "--webhook-allow-http"])
        let base2 = "http://127.0.0.1:\(try await server2.port("HTTP/REST listening"))"
        try await server2.waitUntilModelsReady(count: 1)
        let port = receiver.url.split(separator: ":").last!
        let id = try await AsyncJobTests.submit(
            base2, model: "mlp", body: AsyncJobTests.mlpRequest(parameters: #""parameters":{"webhook":"http://localhost:\#(port)/hook"},"#))
        let job = try await AsyncJobTests.wait(base2, job: id) { $0["webhook"]?["status"]?.stringValue == "failed" }
        #expect(job["webhook"]?["attempts"] == .number("1"), "\(job)")
        let error = job["webhook"]?["error"]?.stringValue ?? ""
        #expect(error.hasPrefix("the webhook's host 'localhost' resolves to "), "\(error)")
        #expect(error.contains("a loopback address; webhooks go to public addresses only unless ferry serve runs with --webhook-allow-private"))
        #expect(receiver.deliveries.isEmpty)
        #expect(server.terminate() == 0, "\(server.logText)")
        #expect(server2.terminate() == 0, "\(server2.logText)")
    }

    @Test("a finished job is POSTed to its webhook, signed with HMAC-SHA256, and retried after the receiver fails")
    func deliveryWithRetry() async throws {
        let receiver = try await WebhookReceiver(failures: 1)
        defer { receiver.stop() }
        let server = try ServerProcess(
            models: ["mlp"], arguments: ["--webhook-secret", "s3cret", "--webhook-backoff", "100ms"] + Self.allowLocalReceivers)
        let base = "http://127.0.0.1:\(try await server.port("HTTP/REST listening"))"
        try await server.waitUntilModelsReady(count: 1)

        let body = AsyncJobTests.mlpRequest(parameters: #""parameters":{"webhook":"\#(receiver.url)/hook"},"#)
        let id = try await AsyncJobTests.submit(base, model: "mlp", body: body)
        let job = try await AsyncJobTests.wait(base, job: id) { $0["webhook"]?["status"]?.stringValue == "delivered" }
        #expect(job["webhook"]?["status"] == .string("delivered"), "\(job)\n\(server.logText)")
        #expect(job["webhook"]?["attempts"] == .number("2"))
        #expect(job["webhook"]?["url"] == .string("\(receiver.url)/hook"))

        let deliveries = receiver.deliveries
        #expect(deliveries.map(\.attempt) == ["1", "2"])
        #expect(deliveries.map(\.jobID) == [id, id])
        for delivery in deliveries {
            let expected = HMAC<SHA256>.authenticationCode(for: delivery.body, using: SymmetricKey(data: Data("s3cret".utf8)))
            #expect(delivery.signature == "sha256=" + expected.map { String(format: "%02x", $0) }.joined())
            let document = try JSONParser.parse(delivery.body)
            #expect(document["id"] == .string(id))
            #expect(document["status"] == .string("succeeded"))
            #expect(document["response"]?["outputs"]?.arrayValue?.first?["name"] == .string("output"), "\(document)")
            #expect(document["response"]?["parameters"]?["webhook"] == nil, "the webhook parameter is not passed to the model")
        }
        #expect(server.terminate() == 0, "\(server.logText)")
    }

    @Test("a receiver that refuses with a 4xx is not retried; an unsigned server sends no signature")
    func rejected() async throws {
        let receiver = try await WebhookReceiver(failures: 0)
        defer { receiver.stop() }
        let server = try ServerProcess(models: ["mlp"], arguments: ["--webhook-backoff", "100ms"] + Self.allowLocalReceivers)
        let base = "http://127.0.0.1:\(try await server.port("HTTP/REST listening"))"
        try await server.waitUntilModelsReady(count: 1)
        let request = { (path: String) in
            AsyncJobTests.mlpRequest(parameters: #""parameters":{"webhook":"\#(receiver.url)\#(path)"},"#)
        }
        let gone = try await AsyncJobTests.submit(base, model: "mlp", body: request("/gone"))
        let refused = try await AsyncJobTests.wait(base, job: gone) { $0["webhook"]?["status"]?.stringValue == "failed" }
        #expect(refused["webhook"]?["attempts"] == .number("1"), "\(refused)")
        #expect(refused["webhook"]?["error"] == .string("the receiver answered 404"))

        // A redirect could lead anywhere, past the address checks: not followed.
        let moved = try await AsyncJobTests.submit(base, model: "mlp", body: request("/moved"))
        let redirected = try await AsyncJobTests.wait(base, job: moved) { $0["webhook"]?["status"]?.stringValue == "failed" }
        #expect(redirected["webhook"]?["error"] == .string("the receiver answered 307 (webhooks follow no redirect)"), "\(redirected)")
        #expect(receiver.deliveries.isEmpty)

        let hook = try await AsyncJobTests.submit(base, model: "mlp", body: request("/hook"))
        _ = try await AsyncJobTests.wait(base, job: hook) { $0["webhook"]?["status"]?.stringValue == "delivered" }
        #expect(receiver.deliveries.count == 1)
        #expect(receiver.deliveries.first?.signature == nil)
        #expect(server.terminate() == 0, "\(server.logText)")
    }
}
