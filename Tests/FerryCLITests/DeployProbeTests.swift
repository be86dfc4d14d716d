import FerryCore
import Foundation
import Testing

extension ContainerImageTests {
    /// The paths and ports `ferry deploy` writes into probes, Services, the
    /// KServe runtime and the Compose health check are the ones `ferry serve`
    /// in the image answers: read from the manifests, called on the image
    /// running under runc in a network namespace of its own, as a pod's are.
    @Suite("ferry deploy: the manifests' probes and ports answer in the image", .enabled(if: getuid() == 0, "runc needs root"))
    struct DeployProbeTests {
        static func documents(_ arguments: [String]) throws -> [JSONValue] {
            let result = try FerryProcess.run(["deploy"] + arguments + ["--output", "-"])
            guard result.status == 0 else { throw FerryError(.internal, "ferry deploy failed: \(result.stderr)") }
            return try result.stdout.components(separatedBy: "\n---\n").map { try YAMLParser.parse($0, source: "ferry deploy") }
        }

        static func port(_ reference: JSONValue?, in ports: [String: Int]) -> Int? {
            switch reference {
            case .string(let name)?: ports[name]
            case .number(let text)?: Int(text)
            default: nil
            }
        }

        @Test("Kubernetes probes and Service ports, the Compose health check, and KServe's ports")
        func probesAnswer() async throws {
            let image = try ImageBuildTests.sharedDigits()
            let reference = "localhost/ferry/digits@\(image.digest)"
            let kubernetes = try Self.documents([reference, "--target", "kubernetes"])
            let deployment = try #require(kubernetes.first { $0["kind"] == .string("Deployment") })
            let service = try #require(kubernetes.first { $0["kind"] == .string("Service") })
            let container = try #require(deployment["spec"]?["template"]?["spec"]?["containers"]?.arrayValue?.first)
            var ports: [String: Int] = [:]
            for port in container["ports"]?.arrayValue ?? [] {
                if let name = port["name"]?.stringValue, case .number(let number)? = port["containerPort"] { ports[name] = Int(number) }
            }
            #expect(Set(ports.keys) == ["http", "grpc", "metrics"])

            let running = try await RuncContainer(image: "\(image.layout.path):test", isolatedNetwork: true)
            defer { running.remove() }
            try await running.waitInside("http://127.0.0.1:\(ports["http"] ?? 0)/v2/health/live")
            for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
                let get = try #require(container[probe]?["httpGet"], "\(probe)")
                let port = try #require(Self.port(get["port"], in: ports), "\(probe) port")
                let path = try #require(get["path"]?.stringValue)
                try await running.waitInside("http://127.0.0.1:\(port)\(path)")
                #expect(try running.statusInside("http://127.0.0.1:\(port)\(path)") == 200, "\(probe) \(path) on \(port)")
            }
            // Every Service port leads to a port ferry listens on, speaking what the Service says.
            for servicePort in service["spec"]?["ports"]?.arrayValue ?? [] {
                let target = try #require(Self.port(servicePort["targetPort"], in: ports))
                switch servicePort["name"]?.stringValue {
                case "http": #expect(try running.statusInside("http://127.0.0.1:\(target)/v2") == 200)
                case "metrics":
                    let metrics = try running.inside(["curl", "-s", "http://127.0.0.1:\(target)/metrics"])
                    #expect(metrics.stdout.contains("ferry_inference_pending_request_count{"), "\(metrics.stdout.prefix(400))")
                case "grpc":
                    let health = try running.inside([FerryProcess.executable.path, "health", "grpc://127.0.0.1:\(target)"])
                    #expect(health.status == 0, "\(health.stderr)\n\(running.logText.suffix(3000))")
                default: Issue.record("unexpected Service port \(servicePort)")
                }
            }
            // The Compose health check runs inside the container, with the image's own ferry.
            let compose = try #require(try Self.documents([reference, "--target", "compose"]).first)
            let test = compose["services"]?["digits"]?["healthcheck"]?["test"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(test.first == "CMD")
            let check = try Tool.run("runc", ["exec", running.name] + test.dropFirst())
            #expect(check.status == 0, "\(check.stderr)")
            #expect(try await running.terminate())

            // KServe's runtime: the arguments it adds move HTTP to 8080 and gRPC to 9000, where KServe routes.
            let kserve = try Self.documents([reference, "--target", "kserve"])
            let runtime = try #require(kserve.first { $0["kind"] == .string("ServingRuntime") })
            let runtimeContainer = try #require(runtime["spec"]?["containers"]?.arrayValue?.first)
            let arguments = runtimeContainer["args"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let kserveRunning = try await RuncContainer(image: "\(image.layout.path):test", isolatedNetwork: true, arguments: arguments)
            defer { kserveRunning.remove() }
            for probe in ["readinessProbe", "livenessProbe"] {
                let get = try #require(runtimeContainer[probe]?["httpGet"])
                let url = "http://127.0.0.1:\(Self.port(get["port"], in: [:]) ?? 0)\(get["path"]?.stringValue ?? "")"
                try await kserveRunning.waitInside(url)
            }
            let grpcHealth = try kserveRunning.inside([FerryProcess.executable.path, "health", "grpc://127.0.0.1:9000"])
            #expect(grpcHealth.status == 0, "\(grpcHealth.stderr)\n\(kserveRunning.logText.suffix(3000))")
            #expect(try await kserveRunning.terminate())
        }
    }
}
