import FerryCore
import Foundation
import Testing

/// HTTP/1 has no cancel message: a client that closes its connection while it
/// waits cancels its request, as a cancelled gRPC call does.
@Suite("HTTP client disconnect")
struct HTTPDisconnectTests {
    /// Starts curl posting `body`; killing it closes its connection. (SIGKILL:
    /// a child spawned from a test thread inherits its blocked SIGTERM.)
    static func curl(_ url: String, body: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "-s", "-o", "/dev/null", "-d", body, url]
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Polls the model's failure count until it is `count` (or 30 s pass).
    static func waitForFailures(_ base: String, _ count: String) async throws -> String? {
        let deadline = ContinuousClock.now + .seconds(30)
        var failures = try await Self.failures(base)
        while failures != count && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            failures = try await Self.failures(base)
        }
        return failures
    }

    /// Waits until the pending-request gauge (queued or running) of `slow` reads `count`.
    static func waitForPending(_ metrics: String, _ count: Double) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let text = try await HTTPCall.send(.GET, "\(metrics)/metrics").text
            let line = text.split(separator: "\n").first {
                $0.hasPrefix("ferry_inference_pending_request_count{") && $0.contains("model=\"slow\"")
            }
            if let value = line?.split(separator: " ").last.flatMap({ Double($0) }), value == count { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the pending-request gauge of 'slow' never read \(count)")
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
        let metrics = "http://127.0.0.1:\(try await server.port("metrics listening"))"
        try await server.waitUntilModelsReady(count: 1)
        let url = "\(base)/v2/models/slow/infer"
        let endless = AsyncJobTests.slowRequest(iterations: 1_000_000_000)

        // One instance: the first request runs (for hours if let), the second waits behind it.
        let running = try Self.curl(url, body: endless)
        try await Self.waitForPending(metrics, 1)
        let queued = try Self.curl(url, body: endless)
        try await Self.waitForPending(metrics, 2)
        kill(queued.processIdentifier, SIGKILL)
        queued.waitUntilExit()
        #expect(try await Self.waitForFailures(base, "1") == "1", "the queued request was cancelled")
        #expect(running.isRunning, "the other still runs")

        kill(running.processIdentifier, SIGKILL)
        running.waitUntilExit()
        #expect(try await Self.waitForFailures(base, "2") == "2", "the running request was stopped")

        // The instance is free again: a short request is answered.
        let short = try await HTTPCall.send(.POST, url, body: AsyncJobTests.slowRequest(iterations: 3))
        #expect(short.status == 200, "\(short.text)")
        #expect(server.terminate() == 0, "\(server.logText)")
    }
}
