import FerryCore
import Foundation
import Testing

extension ContainerImageTests {
    /// The built image runs under runc (the OCI runtime Docker and Kubernetes
    /// use underneath), as uid 65532, answers v2 requests, and stops on SIGTERM.
    /// runc needs root, as in CI.
    @Suite("ferry build: the image runs under runc", .enabled(if: getuid() == 0, "runc needs root"))
    struct ImageRunTests {
        @Test("unpacked with umoci and run with runc: ready, an inference on digits, uid 65532, SIGTERM stops it")
        func runsUnderRunc() async throws {
            let image = try ImageBuildTests.sharedDigits()
            let work = try ImageBuildTests.temporaryDirectory("runc")
            defer { try? FileManager.default.removeItem(at: work) }
            let bundle = work.appendingPathComponent("bundle")
            let unpack = try Tool.run("umoci", ["unpack", "--image", "\(image.layout.path):test", bundle.path])
            #expect(unpack.status == 0, "\(unpack.stderr)")

            // Share the host's network (as the reference does) and pick free ports through the log.
            let configURL = bundle.appendingPathComponent("config.json")
            guard var config = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any],
                var process = config["process"] as? [String: Any], var linux = config["linux"] as? [String: Any],
                let namespaces = linux["namespaces"] as? [[String: Any]], let args = process["args"] as? [String]
            else { Issue.record("unexpected config.json from umoci"); return }
            process["terminal"] = false
            process["args"] = args + ["--http-port", "0", "--grpc-port", "0", "--metrics-port", "0"]
            linux["namespaces"] = namespaces.filter { $0["type"] as? String != "network" }
            config["process"] = process
            config["linux"] = linux
            try JSONSerialization.data(withJSONObject: config).write(to: configURL)

            let name = "ferry-test-\(UUID().uuidString.prefix(8))"
            let logURL = work.appendingPathComponent("container.log")
            FileManager.default.createFile(atPath: logURL.path, contents: nil)
            let log = try FileHandle(forWritingTo: logURL)
            let runc = Process()
            runc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            runc.arguments = ["runc", "run", "--detach", "--bundle", bundle.path, name]
            runc.standardOutput = log
            runc.standardError = log
            try runc.run()
            runc.waitUntilExit()
            defer { _ = try? Tool.run("runc", ["delete", "--force", name]) }
            #expect(runc.terminationStatus == 0, "\((try? String(contentsOf: logURL, encoding: .utf8)) ?? "")")

            var port: Int?
            let deadline = ContinuousClock.now + .seconds(30)
            while port == nil && ContinuousClock.now < deadline {
                let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
                for line in text.split(separator: "\n") where line.contains("\"message\":\"HTTP/REST listening\"") {
                    port = (try? JSONParser.parse(String(line)))?["address"]?.stringValue?.split(separator: ":").last.flatMap { Int($0) }
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            let base = "http://127.0.0.1:\(try #require(port, "\((try? String(contentsOf: logURL, encoding: .utf8)) ?? "")"))"
            var ready = 0
            while ready != 200 && ContinuousClock.now < deadline {
                ready = (try? await HTTPCall.send(.GET, "\(base)/v2/health/ready").status) ?? 0
                if ready != 200 { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(ready == 200)
            let request = try String(
                contentsOf: FerryProcess.repositoryRoot.appendingPathComponent("examples/requests/digits.json"), encoding: .utf8)
            let inference = try await HTTPCall.send(.POST, "\(base)/v2/models/digits/infer", body: request)
            #expect(inference.status == 200, "\(inference.text)")
            let label = try inference.json["outputs"]?.arrayValue?.first { $0["name"] == .string("label") }
            #expect(label?["data"] == .array([.number("1")]), "\(inference.text)")

            let state = try JSONParser.parse(try Tool.run("runc", ["state", name]).stdout)
            let pid = try #require(state["pid"].flatMap { if case .number(let text) = $0 { Int(text) } else { nil } })
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            #expect(
                status.split(separator: "\n").contains {
                    $0.hasPrefix("Uid:") && $0.split(separator: "\t").dropFirst().allSatisfy { $0 == "65532" }
                })

            #expect(try Tool.run("runc", ["kill", name, "TERM"]).status == 0)
            var stopped = false
            while !stopped && ContinuousClock.now < deadline + .seconds(30) {
                stopped = (try? JSONParser.parse(try Tool.run("runc", ["state", name]).stdout))?["status"] == .string("stopped")
                if !stopped { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(stopped)
            #expect(try String(contentsOf: logURL, encoding: .utf8).contains("\"message\":\"stopped\""), "the server shut down cleanly")
        }
    }
}
