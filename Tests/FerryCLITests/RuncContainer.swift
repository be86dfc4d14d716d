import FerryCore
import Foundation
import Testing

/// An image unpacked with umoci and run with runc (the OCI runtime under
/// Docker, containerd and CRI-O). By default it shares the host's network
/// and ferry's ports are chosen by the system and read from its JSON log;
/// with `isolatedNetwork` it keeps a network namespace of its own, ferry
/// listens on the image's ports, and `inside(_:)` runs commands there
/// (nsenter), as a pod's probes reach it. Needs root.
final class RuncContainer {
    let work: URL
    let name = "ferry-test-\(UUID().uuidString.prefix(8))"
    let log: URL
    private(set) var base = ""

    let isolatedNetwork: Bool

    /// Unpacks `image` (`LAYOUT:TAG`) and starts it, with `arguments` after
    /// the image's entrypoint; returns once ferry says where HTTP listens
    /// (with `isolatedNetwork`, once it runs).
    init(image: String, isolatedNetwork: Bool = false, arguments: [String] = []) async throws {
        self.isolatedNetwork = isolatedNetwork
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
        if isolatedNetwork {
            process["args"] = args + arguments
        } else {
            process["args"] = args + arguments + ["--http-port", "0", "--grpc-port", "0", "--metrics-port", "0"]
            linux["namespaces"] = namespaces.filter { $0["type"] as? String != "network" }
        }
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

        if isolatedNetwork { return }
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

    /// Runs `command` in the container's network namespace (host binaries, the container's view of the network).
    func inside(_ command: [String]) throws -> FerryProcess.Result {
        try Tool.run("nsenter", ["-t", String(try pid()), "-n"] + command)
    }

    /// The HTTP status of GET `url` as seen from inside the container's network, 0 when nothing answers.
    func statusInside(_ url: String) throws -> Int {
        Int(try inside(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", url]).stdout) ?? 0
    }

    /// Waits until GET `url` inside the container's network answers 200.
    func waitInside(_ url: String) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if (try? statusInside(url)) == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw FerryError(.unavailable, "\(url) never answered 200 inside the container: \(logText)")
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
