import ArgumentParser
import FerryClient
import FerryCore
import FerryProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Load a v2 server with one request and measure throughput and latency.",
        discussion: """
            In the spirit of perf_analyzer: a closed loop at each --concurrency, or an open \
            loop at each --request-rate, for --duration seconds each. Latency percentiles come \
            from an HdrHistogram; the server's queue and compute time per request from its \
            statistics endpoint over the same window.
            """
    )

    @Argument(help: ArgumentHelp("The server: http(s)://HOST:PORT or grpc(s)://HOST:PORT.", valueName: "url"))
    var url: String

    @OptionGroup(title: "Server access") var clientOptions: ClientOptions

    @Option(help: "The model to load.")
    var model: String

    @Option(help: "The model version (default: the server's choice).")
    var modelVersion: String?

    @Option(
        name: .customLong("input"),
        help: ArgumentHelp(
            "Random data for an input: NAME:SHAPE[:DATATYPE], e.g. input:1,64:FP32 (repeatable; default: every input, dynamic dims 1).",
            valueName: "spec")
    )
    var inputs: [String] = []

    @Option(help: ArgumentHelp("Send this v2 request body instead of random data.", valueName: "request.json"))
    var data: String?

    @Option(help: ArgumentHelp("Concurrency levels to sweep, e.g. 1,4,16.", valueName: "list"))
    var concurrency: String?

    @Option(help: ArgumentHelp("Request rates (per second) to sweep, open loop, e.g. 100,1000.", valueName: "list"))
    var requestRate: String?

    @Option(help: "Seconds to measure at each level.")
    var duration: Double = 5

    @Flag(help: "Over HTTP, send and receive tensors with the binary tensor extension.")
    var binary = false

    @Option(help: ArgumentHelp("Also write the results as JSON to this file.", valueName: "file"))
    var json: String?

    @Option(help: ArgumentHelp("Also write the results as CSV to this file.", valueName: "file"))
    var csv: String?

    func validate() throws {
        guard duration > 0 else { throw ValidationError("--duration must be positive") }
        guard data == nil || inputs.isEmpty else { throw ValidationError("use --data or --input, not both") }
        _ = try plans()
        for spec in inputs {
            if case .failure(let error) = Result(catching: { () throws(FerryError) in try BenchmarkRequest.InputSpec(parsing: spec) }) {
                throw ValidationError(error.message)
            }
        }
    }

    private func plans() throws -> [LoadPlan.Mode] {
        func list(_ text: String?, _ flag: String) throws -> [Double] {
            guard let text else { return [] }
            let values = text.split(separator: ",").map { Double($0.trimmingWhitespace) }
            guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw ValidationError("\(flag) takes positive numbers separated by commas")
            }
            return values.map { $0! }
        }
        let modes =
            try list(concurrency, "--concurrency").map { LoadPlan.Mode.concurrency(Int($0)) }
            + list(requestRate, "--request-rate").map { LoadPlan.Mode.requestRate($0) }
        return modes.isEmpty ? [.concurrency(1)] : modes
    }

    func run() async throws {
        try await reportingFailures {
            // Every request in flight needs its own HTTP/1 connection; an open
            // loop can have many waiting on a slow server.
            let inFlight = try plans().map { mode in
                switch mode {
                case .concurrency(let count): count
                case .requestRate: 1024
                }
            }
            let client = try FerryClient.connect(
                to: url, binary: binary, maxConnections: inFlight.max() ?? 1, security: clientOptions.security)
            do {
                try await measure(with: client)
                await client.close()
            } catch {
                await client.close()
                throw error
            }
        }
    }

    private func measure(with client: any InferenceClient) async throws {
        let request: InferenceRequest
        if let data {
            guard let body = FileManager.default.contents(atPath: data) else {
                throw FerryError(.notFound, "cannot read the request file \(data)")
            }
            request = try InferenceRequest(v2JSON: body)
        } else {
            let metadata = try await client.modelMetadata(model, version: modelVersion)
            request = try BenchmarkRequest.make(
                specs: try inputs.map { spec throws(FerryError) in try .init(parsing: spec) }, metadata: metadata)
        }
        // Fail fast on a request the server refuses, instead of measuring errors.
        _ = try await client.infer(request, model: model, version: modelVersion)

        let live = StandardStreams.errorIsTerminal
        var results: [LoadResult] = []
        for mode in try plans() {
            let label = BenchmarkReport.label(mode)
            let result = await LoadGenerator.run(
                client: client,
                model: model,
                version: modelVersion,
                request: request,
                plan: LoadPlan(mode: mode, duration: .milliseconds(Int64(duration * 1000)))
            ) { requests, elapsed in
                guard live else { return }
                StandardStreams.writeError(
                    "\r\u{1B}[K  \(label): \(requests) requests in \((Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18).fixed(1)) s"
                )
            }
            if live { StandardStreams.writeError("\r\u{1B}[K") }
            results.append(result)
        }
        print("ferry bench: model \(model) at \(url)\(binary ? " (binary)" : "")")
        print(BenchmarkReport.table(results))
        if let failure = results.compactMap({ $0.firstFailure }).first {
            print("first failure: \(failure)")
        }
        if let json {
            try? BenchmarkReport.json(results, model: model, url: url).write(to: URL(fileURLWithPath: json))
        }
        if let csv {
            try? Data(BenchmarkReport.csv(results).utf8).write(to: URL(fileURLWithPath: csv))
        }
    }
}
