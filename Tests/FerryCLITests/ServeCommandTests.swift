import FerryClient
import FerryCore
import Foundation
import Synchronization
import Testing

@Suite("ferry serve with ferry infer as its client")
struct ServeCommandTests {
    @Test("ferry infer over HTTP (JSON and binary) and gRPC answers as the model does in-process; SIGTERM exits 0")
    func endToEnd() async throws {
        let server = try ServerProcess(models: ["mlp", "multi_io"])
        let httpPort = try await server.port("HTTP/REST listening")
        let grpcPort = try await server.port("gRPC listening")
        let metricsPort = try await server.port("metrics listening")
        #expect(Set([httpPort, grpcPort, metricsPort]).count == 3)
        try await server.waitUntilModelsReady(count: 2)

        let request = try FerryProcess.requestFile(
            #"{"id":"r7","inputs":[{"name":"a","shape":[2,4],"datatype":"FP32","data":[1,2,3,4,5,6,7,8]},{"name":"b","shape":[2],"datatype":"INT64","data":[-1,5]},{"name":"c","shape":[2],"datatype":"BYTES","data":["x","yz"]}]}"#
        )
        let local = try FerryProcess.run(["infer", FerryProcess.fixture("multi_io.onnx"), "--data", request])
        #expect(local.status == 0, "\(local.stderr)")
        let expected = try #require(try JSONParser.parse(local.stdout)["outputs"])

        for arguments in [
            ["http://127.0.0.1:\(httpPort)"],
            ["http://127.0.0.1:\(httpPort)", "--binary"],
            ["grpc://127.0.0.1:\(grpcPort)"],
        ] {
            let remote = try FerryProcess.run(["infer"] + arguments + ["--model", "multi_io", "--data", request])
            #expect(remote.status == 0, "\(arguments): \(remote.stderr)")
            let response = try JSONParser.parse(remote.stdout)
            #expect(response["outputs"] == expected, "\(arguments)")
            #expect(response["model_version"] == .string("1"))
            #expect(response["id"] == .string("r7"))
        }

        let unknown = try FerryProcess.run(["infer", "grpc://127.0.0.1:\(grpcPort)", "--model", "nope", "--data", request])
        #expect(unknown.status == 1)
        #expect(unknown.stderr == "ferry: unknown model 'nope'\n")
        let badShape = try FerryProcess.run(["infer", "http://127.0.0.1:\(httpPort)", "--model", "mlp", "--data", request])
        #expect(badShape.status == 1)
        #expect(badShape.stderr.hasPrefix("ferry: model 'mlp' has no input named 'a'"))

        #expect(server.terminate() == 0, "\(server.logText)")
        #expect(server.logText.contains("\"message\":\"stopped\""))
    }

    @Test("a server URL needs --model")
    func urlNeedsModel() throws {
        let result = try FerryProcess.run(["infer", "http://127.0.0.1:1", "--data", "examples/requests/digits.json"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--model is required when TARGET is a server URL"))
    }

    @Test("an unreachable server is one clear line")
    func unreachable() throws {
        let result = try FerryProcess.run(["infer", "http://127.0.0.1:1", "--model", "m", "--data", "examples/requests/digits.json"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("ferry: cannot reach http://127.0.0.1:1"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }
}

@Suite("ferry bench")
struct BenchCommandTests {
    @Test("bench reports numbers consistent with the server's own statistics")
    func consistentWithServerStatistics() async throws {
        let server = try ServerProcess(models: ["mlp"])
        let httpPort = try await server.port("HTTP/REST listening")
        let grpcPort = try await server.port("gRPC listening")
        try await server.waitUntilModelsReady(count: 1)
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString).json").path
        let csv = json + ".csv"

        let result = try FerryProcess.run([
            "bench", "grpc://127.0.0.1:\(grpcPort)", "--model", "mlp", "--concurrency", "1,3", "--duration", "0.5",
            "--input", "input:2,64", "--json", json, "--csv", csv,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("concurrency 3"))
        let report = try JSONParser.parse(Data(contentsOf: URL(fileURLWithPath: json)))
        let steps = try #require(report["results"]?.arrayValue)
        #expect(steps.count == 2)
        var measured: UInt64 = 0
        for step in steps {
            guard case .number(let requests)? = step["requests"], let count = UInt64(requests) else {
                Issue.record("no request count")
                continue
            }
            #expect(count > 0)
            #expect(step["failures"] == .number("0"))
            // The server counted exactly the requests bench measured, two rows each.
            #expect(step["server"]?["success_count"] == .number(String(count)))
            #expect(step["server"]?["inference_count"] == .number(String(count * 2)))
            measured += count
        }
        #expect(try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").count == 3)

        // Read independently: the server saw at least every measured request.
        let client = try FerryClient.connect(to: "http://127.0.0.1:\(httpPort)")
        let total = try await client.modelStatistics("mlp", version: nil)
        await client.close()
        #expect(total.successCount >= measured)
        #expect(total.failureCount == 0)

        // The batch-size histogram on /metrics adds up to the rows the server inferred.
        let metricsPort = try await server.port("metrics listening")
        let scrape = Process()
        scrape.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        scrape.arguments = ["curl", "-sf", "http://127.0.0.1:\(metricsPort)/metrics"]
        let output = Pipe()
        scrape.standardOutput = output
        try scrape.run()
        let metrics = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        scrape.waitUntilExit()
        let sumLine = metrics.split(separator: "\n").first { $0.hasPrefix("ferry_inference_batch_size_sum{model=\"mlp\"") }
        let rows = sumLine.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
        #expect(rows == Double(total.inferenceCount), "\(metrics.prefix(2000))")
        #expect(metrics.contains("ferry_inference_queue_duration_seconds_bucket{model=\"mlp\",version=\"1\",le=\"0.00005\"}"))
        #expect(server.terminate() == 0)
    }

    @Test("an input the model does not have is one clear line")
    func badInput() throws {
        let result = try FerryProcess.run(["bench", "http://127.0.0.1:1", "--model", "m", "--input", "nonsense"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("an input is NAME:SHAPE[:DATATYPE]"))
    }
}
