import FerryCore
import Foundation
import Testing

/// HTTP/1 has no cancel message: a client that closes its connection while it
/// waits cancels its request, as a cancelled gRPC call does.
@Suite("HTTP client disconnect")
struct HTTPDisconnectTests {
    /// Starts curl posting `body` and kills its connection after `seconds`.
    static func curl(_ url: String, body: String, maxTime seconds: Double) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "-s", "-o", "/dev/null", "--max-time", String(seconds), "-d", body, url]
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func failures(_ base: String) async throws -> String? {
        let stats = try await HTTPCall.send(.GET, "\(base)/v2/models/slow/stats").json
        return stats["model_stats"]?.arrayValue?.first?["inference_stats"]?["fail"]?["count"].flatMap {
            if case .number(let text) = $0 { return text }
            return nil
        }
    }

    @Test("a queued request whose client disconnects leaves the queue; a running one is stopped")
    func disconnectCancels() async throws {
        let server = try ServerProcess(models: ["slow"], arguments: ["--instances", "1"])
        let base = "http://127.0.0.1:\(try await server.port("HTTP/REST listening"))"
        try await server.waitUntilModelsReady(count: 1)
        let url = "\(base)/v2/models/slow/infer"
        let endless = AsyncJobTests.slowRequest(iterations: 1_000_000_000)

        // One instance: the first request runs (for hours if let), the second waits behind it.
        let running = try Self.curl(url, body: endless, maxTime: 4)
        try await Task.sleep(for: .milliseconds(300))
        let queued = try Self.curl(url, body: endless, maxTime: 1)
        queued.waitUntilExit()
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await Self.failures(base) == "1", "the queued request was cancelled while the other still runs")
        #expect(running.isRunning)

        running.waitUntilExit()
        let deadline = ContinuousClock.now + .seconds(30)
        while try await Self.failures(base) != "2" && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try await Self.failures(base) == "2", "the running request was stopped")

        // The instance is free again: a short request is answered.
        let short = try await HTTPCall.send(.POST, url, body: AsyncJobTests.slowRequest(iterations: 3))
        #expect(short.status == 200, "\(short.text)")
        #expect(server.terminate() == 0, "\(server.logText)")
    }
}
