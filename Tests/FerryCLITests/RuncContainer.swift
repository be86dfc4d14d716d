import FerryCore
import Foundation
import Testing

/// An image unpacked with umoci and run with runc (the OCI runtime under
/// Docker, containerd and CRI-O), sharing the host's network; ferry's ports
/// are chosen by the system and read from its JSON log. Needs root.
final class RuncContainer {
    let work: URL
    let name = "ferry-test-\(UUID().uuidString.prefix(8))"
    let log: URL
    private(set) var base = ""

    /// Unpacks `image` (`LAYOUT:TAG`) and starts it; returns once ferry says where HTTP listens.
    init(image: String) async throws {
        work = try ContainerImageTests.ImageBuildTests.temporaryDirectory("runc")
        let bundle = work.appendingPathComponent("bundle")
        let unpack = try Tool.run("umoci", ["unpack", "--image", image, bundle.path])
        guard unpack.status == 0 else { throw FerryError(.internal, "umoci unpack failed: \(unpack.stderr)") }

        let configURL = bundle.appendingPathComponent("config.json")
        guard var config = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any],
            var process = config["process"] as? [String: Any], var linux = config["linux"] as? [String: Any],
            let namespaces = linux["namespaces"] as? [[String: Any]], let args = process["args"] as? [String]
        else { throw FerryError(.internal, "unexpected config.json from umoci") }
        process["terminal"] = false
        process["args"] = args + ["--http-port", "0", "--grpc-port", "0", "--metrics-port", "0"]
        linux["namespaces"] = namespaces.filter { $0["type"] as? String != "network" }
        config["process"] = process
        config["linux"] = linux
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)

        log = work.appendingPathComponent("container.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        let runc = Process()
        runc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        runc.arguments = ["runc", "run", "--detach", "--bundle", bundle.path, name]
        runc.standardOutput = output
        runc.standardError = output
        try runc.run()
        runc.waitUntilExit()
        guard runc.terminationStatus == 0 else { throw FerryError(.internal, "runc run failed: \(logText)") }

        var port: Int?
        let deadline = ContinuousClock.now + .seconds(30)
        while port == nil && ContinuousClock.now < deadline {
            for line in logText.split(separator: "\n") where line.contains("\"message\":\"HTTP/REST listening\"") {
                port = (try? JSONParser.parse(String(line)))?["address"]?.stringValue?.split(separator: ":").last.flatMap { Int($0) }
            }
            if port == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        guard let port else { throw FerryError(.unavailable, "ferry in the container did not start: \(logText)") }
        base = "http://127.0.0.1:\(port)"
    }

    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// The host PID of the container's first process.
    func pid() throws -> Int {
        let state = try JSONParser.parse(try Tool.run("runc", ["state", name]).stdout)
        guard case .number(let text)? = state["pid"], let pid = Int(text) else { throw FerryError(.internal, "runc state has no pid") }
        return pid
    }

    func waitUntilReady() async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if (try? await HTTPCall.send(.GET, "\(base)/v2/health/ready").status) == 200 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw FerryError(.unavailable, "the server in the container never became ready: \(logText)")
    }

    /// The digits example's request, answered with label 1.
    func expectDigitsInference() async throws {
        let request = try String(
            contentsOf: FerryProcess.repositoryRoot.appendingPathComponent("examples/requests/digits.json"), encoding: .utf8)
        let inference = try await HTTPCall.send(.POST, "\(base)/v2/models/digits/infer", body: request)
        #expect(inference.status == 200, "\(inference.text)")
        let label = try inference.json["outputs"]?.arrayValue?.first { $0["name"] == .string("label") }
        #expect(label?["data"] == .array([.number("1")]), "\(inference.text)")
    }

    /// SIGTERM, then waits until runc reports the container stopped; true if it did.
    func terminate() async throws -> Bool {
        guard try Tool.run("runc", ["kill", name, "TERM"]).status == 0 else { return false }
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if (try? JSONParser.parse(try Tool.run("runc", ["state", name]).stdout))?["status"] == .string("stopped") { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    func remove() {
        _ = try? Tool.run("runc", ["delete", "--force", name])
        try? FileManager.default.removeItem(at: work)
    }
}
