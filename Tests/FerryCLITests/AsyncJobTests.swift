import FerryCore
import Foundation
import Testing

/// Async jobs through a real `ferry serve`: `Prefer: respond-async`, the job
/// routes, cancellation, and jobs that outlive a killed server.
@Suite("async jobs on ferry serve")
struct AsyncJobTests {
    /// Two rows of the MLP fixture's 64 inputs.
    static let mlpRequest = mlpRequest(parameters: "")

    static func mlpRequest(parameters: String) -> String {
        let data = (0..<128).map { String(Double($0 % 17) / 8 - 1) }.joined(separator: ",")
        return #"{\#(parameters)"inputs":[{"name":"input","shape":[2,64],"datatype":"FP32","data":[\#(data)]}]}"#
    }

    static func slowRequest(iterations: Int) -> String {
        let ones = Array(repeating: "1", count: 64).joined(separator: ",")
        return #"{"inputs":[{"name":"iterations","shape":[],"datatype":"INT64","data":[\#(iterations)]},"#
            + #"{"name":"x","shape":[1,64],"datatype":"FP32","data":[\#(ones)]}]}"#
    }

    static func submit(_ base: String, model: String, body: String, prefer: String = "respond-async") async throws -> String {
        let call = try await HTTPCall.send(.POST, "\(base)/v2/models/\(model)/infer", body: body, headers: [("Prefer", prefer)])
        #expect(call.status == 202, "\(call.text)")
        let id = try #require(try call.json["id"]?.stringValue, "\(call.text)")
        #expect(call.headers["Location"] == ["/v2/jobs/\(id)"])
        #expect(call.headers["Preference-Applied"] == ["respond-async"])
        #expect(try call.json["status"] == .string("queued"))
        return id
    }

    /// Polls the job until `done` holds for it (or a minute passes).
    static func wait(
        _ base: String, job id: String,
        until done: (JSONValue) -> Bool = { ["succeeded", "failed", "cancelled"].contains($0["status"]?.stringValue ?? "") }
    ) async throws -> JSONValue {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            let call = try await HTTPCall.send(.GET, "\(base)/v2/jobs/\(id)")
            #expect(call.status == 200, "\(call.text)")
            let job = try call.json
            if done(job) || ContinuousClock.now > deadline { return job }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func status(_ value: String) -> (JSONValue) -> Bool { { $0["status"]?.stringValue == value } }

    @Test("respond-async answers 202 with a Location whose job ends with the response a synchronous call gives")
    func lifecycle() async throws {
        let server = try ServerProcess(models: ["mlp", "slow"])
        let base = "http://127.0.0.1:\(try await server.port("HTTP/REST listening"))"
        try await server.waitUntilModelsReady(count: 2)

        let sync = try await HTTPCall.send(.POST, "\(base)/v2/models/mlp/infer", body: Self.mlpRequest)
        #expect(sync.status == 200)
        // Other preferences may come first; respond-async is found among them.
        let id = try await Self.submit(base, model: "mlp", body: Self.mlpRequest, prefer: "wait=10, respond-async")
        let job = try await Self.wait(base, job: id)
        #expect(job["status"] == .string("succeeded"), "\(job)")
        #expect(job["model"] == .string("mlp"))
        #expect(job["attempts"] == .number("1"))
        #expect(job["response"]?["outputs"] == (try sync.json["outputs"]))
        #expect(job["response"]?["model_version"] == .string("1"))
        for field in ["created", "started", "finished"] { #expect(job[field]?.stringValue?.hasSuffix("Z") == true, "\(field)") }

        let listed = try await HTTPCall.send(.GET, "\(base)/v2/jobs?model=mlp&status=succeeded")
        #expect(try listed.json["jobs"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [id])
        #expect(try listed.json["jobs"]?.arrayValue?.first?["response"] == nil, "listing leaves responses out")
        let otherModel = try await HTTPCall.send(.GET, "\(base)/v2/jobs?model=slow")
        #expect(try otherModel.json["jobs"] == .array([]))

        let again = try await HTTPCall.send(.DELETE, "\(base)/v2/jobs/\(id)")
        #expect(again.status == 409)
        #expect(try again.json["error"] == .string("job '\(id)' has already succeeded"))

        // Bad input is refused at once, as a synchronous request would be; no job is made.
        let bad = try await HTTPCall.send(
            .POST, "\(base)/v2/models/mlp/infer", body: #"{"inputs":[{"name":"nope","shape":[1],"datatype":"FP32","data":[1]}]}"#,
            headers: [("Prefer", "respond-async")])
        #expect(bad.status == 400)
        #expect(bad.text.contains("has no input named 'nope'"), "\(bad.text)")
        let badHook = try await HTTPCall.send(
            .POST, "\(base)/v2/models/mlp/infer",
            body: Self.mlpRequest(parameters: #""parameters":{"webhook":"file:///etc/passwd"},"#),
            headers: [("Prefer", "respond-async")])
        #expect(badHook.status == 400)
        #expect(badHook.text.contains("'webhook' parameter must be an http:// or https:// URL"), "\(badHook.text)")
        let all = try await HTTPCall.send(.GET, "\(base)/v2/jobs")
        #expect(try all.json["jobs"]?.arrayValue?.count == 1)

        #expect(try await HTTPCall.send(.GET, "\(base)/v2/jobs/no-such-job").status == 404)
        #expect(try await HTTPCall.send(.DELETE, "\(base)/v2/jobs/no-such-job").status == 404)
        let badStatus = try await HTTPCall.send(.GET, "\(base)/v2/jobs?status=done")
        #expect(badStatus.status == 400)
        #expect(badStatus.text.contains("unknown job status 'done'"))
        #expect(try await HTTPCall.send(.GET, "\(base)/v2/jobs?limit=0").status == 400)
        #expect(server.terminate() == 0, "\(server.logText)")
    }

    @Test("DELETE cancels a queued job and stops a running one; the server goes on serving")
    func cancel() async throws {
        let server = try ServerProcess(models: ["slow"], arguments: ["--job-concurrency", "1"])
        let base = "http://127.0.0.1:\(try await server.port("HTTP/REST listening"))"
        try await server.waitUntilModelsReady(count: 1)

        let long = try await Self.submit(base, model: "slow", body: Self.slowRequest(iterations: 1_000_000_000))
        let queued = try await Self.submit(base, model: "slow", body: Self.slowRequest(iterations: 3))
        #expect(try await Self.wait(base, job: long, until: Self.status("running"))["status"] == .string("running"))
        let stillQueued = try await HTTPCall.send(.GET, "\(base)/v2/jobs?status=queued")
        #expect(try stillQueued.json["jobs"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [queued])

        let cancelledQueued = try await HTTPCall.send(.DELETE, "\(base)/v2/jobs/\(queued)")
        #expect(cancelledQueued.status == 200)
        #expect(try cancelledQueued.json["status"] == .string("cancelled"))
        #expect(try cancelledQueued.json["started"] == nil, "it never ran")

        // The running job's ONNX Runtime call is stopped (a billion iterations would take hours).
        let cancelledRunning = try await HTTPCall.send(.DELETE, "\(base)/v2/jobs/\(long)")
        #expect(cancelledRunning.status == 200)
        #expect(try cancelledRunning.json["status"] == .string("cancelled"), "\(cancelledRunning.text)")
        #expect(try cancelledRunning.json["error"] == .string("the job was cancelled by the client"))

        let next = try await Self.submit(base, model: "slow", body: Self.slowRequest(iterations: 3))
        #expect(try await Self.wait(base, job: next)["status"] == .string("succeeded"))
        #expect(server.terminate() == 0, "\(server.logText)")
    }

    @Test("jobs queued and running when the server is killed (-9) complete after it starts again")
    func surviveKill() async throws {
        // Bodies over 0 bytes go to files: the restart must find them too.
        let arguments = ["--job-concurrency", "1", "--job-inline-limit", "0"]
        let first = try ServerProcess(models: ["slow"], arguments: arguments)
        var base = "http://127.0.0.1:\(try await first.port("HTTP/REST listening"))"
        try await first.waitUntilModelsReady(count: 1)

        // About five seconds of work: long enough to be caught running on a busy machine.
        let running = try await Self.submit(base, model: "slow", body: Self.slowRequest(iterations: 6_000_000))
        let queued = try await Self.submit(base, model: "slow", body: Self.slowRequest(iterations: 5))
        #expect(try await Self.wait(base, job: running, until: Self.status("running"))["status"] == .string("running"))
        #expect(try await HTTPCall.send(.GET, "\(base)/v2/jobs/\(queued)").json["status"] == .string("queued"))
        let files = first.repository.appendingPathComponent(".jobs/jobs.sqlite.files")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: files.path)) == ["\(running).request", "\(queued).request"])
        first.kill()

        let second = try ServerProcess(models: [], repository: first.repository, arguments: arguments)
        base = "http://127.0.0.1:\(try await second.port("HTTP/REST listening"))"
        let ranAgain = try await Self.wait(base, job: running)
        #expect(ranAgain["status"] == .string("succeeded"), "\(ranAgain)\n\(second.logText)")
        #expect(ranAgain["attempts"] == .number("2"))
        let ranLater = try await Self.wait(base, job: queued)
        #expect(ranLater["status"] == .string("succeeded"), "\(ranLater)")
        #expect(ranLater["attempts"] == .number("1"))
        let y = ranLater["response"]?["outputs"]?.arrayValue?.first?["data"]?.arrayValue
        #expect(y?.count == 64)
        #expect(y?.allSatisfy { $0 == .number("1.0") } == true, "\(String(describing: y))")
        #expect(second.logText.contains("jobs interrupted by the last stop run again"))
        let stored = Set(try FileManager.default.contentsOfDirectory(atPath: files.path))
        #expect(stored.isSuperset(of: ["\(running).response", "\(queued).response"]), "\(stored)")
        #expect(second.terminate() == 0, "\(second.logText)")
    }

    @Test("finished jobs are deleted after --job-ttl")
    func timeToLive() async throws {
        // Finished jobs stay at least 8 s: a poll every 50 ms sees this one succeed before it goes,
        // even while other tests load both cores.
        let server = try ServerProcess(models: ["mlp"], arguments: ["--job-ttl", "8s", "--job-inline-limit", "0"])
        let base = "http://127.0.0.1:\(try await server.port("HTTP/REST listening"))"
        try await server.waitUntilModelsReady(count: 1)
        let id = try await Self.submit(base, model: "mlp", body: Self.mlpRequest)
        let files = server.repository.appendingPathComponent(".jobs/jobs.sqlite.files")
        let deadline = ContinuousClock.now + .seconds(60)
        var status = 200
        var states: Set<String> = []
        while status == 200 && ContinuousClock.now < deadline {
            let call = try await HTTPCall.send(.GET, "\(base)/v2/jobs/\(id)")
            status = call.status
            if status == 200, let state = try call.json["status"]?.stringValue { states.insert(state) }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(states.contains("succeeded"), "\(states)")
        #expect(status == 404)
        #expect(try FileManager.default.contentsOfDirectory(atPath: files.path).isEmpty, "the job's files go with it")
        #expect(server.terminate() == 0, "\(server.logText)")
    }
}
