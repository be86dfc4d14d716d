// Per-inference latency of the MLP fixture through Ferry's Swift path, the
// counterpart of scripts/bench-python-ort.py: same model, same thread count,
// same warm-up and iteration counts, every call timed on its own.
//
//   InProcessBenchmark [--threads 1] [--iterations 20000] [--warmup 1000] [--batches 1,64] [--model PATH]
//
// Prints one JSON object. Three paths are measured per batch size:
//   raw   — the C API alone, input value built once (the floor; RawRunner.swift)
//   run   — ModelSession.run on a prepared Tensor (what Python's session.run does)
//   infer — signature validation + run + response assembly (ferry's whole
//           in-process request path, without wire decoding)
import FerryCore
import FerryONNXRuntime
import Foundation

struct Settings {
    var threads = 1
    var iterations = 20_000
    var warmup = 1_000
    var batches = [1, 64]
    var model = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tests/Fixtures/models/mlp.onnx").path

    init(arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            guard let value = iterator.next() else { fatalError("\(flag) needs a value") }
            switch flag {
            case "--threads": threads = Int(value)!
            case "--iterations": iterations = Int(value)!
            case "--warmup": warmup = Int(value)!
            case "--batches": batches = value.split(separator: ",").map { Int($0)! }
            case "--model": model = value
            default: fatalError("unknown option \(flag)")
            }
        }
    }
}

struct Summary {
    var median: Double
    var p99: Double
    var mean: Double
    var min: Double

    /// Same statistics as the Python script: median of the two middle samples,
    /// nearest-rank p99, in microseconds.
    init(nanoseconds samples: [UInt64]) {
        let sorted = samples.sorted()
        let n = sorted.count
        median = Double(sorted[(n - 1) / 2] + sorted[n / 2]) / 2 / 1000
        p99 = Double(sorted[max(1, Int((0.99 * Double(n)).rounded(.up))) - 1]) / 1000
        mean = Double(sorted.reduce(0, +)) / Double(n) / 1000
        min = Double(sorted[0]) / 1000
    }

    func json(batch: Int, path: String, iterations: Int) -> String {
        func us(_ value: Double) -> String { String(format: "%.3f", value) }
        return
            #"{"batch":\#(batch),"path":"\#(path)","iterations":\#(iterations),"median_us":\#(us(median)),"p99_us":\#(us(p99)),"mean_us":\#(us(mean)),"min_us":\#(us(min))}"#
    }
}

func measure(iterations: Int, warmup: Int, _ body: () throws -> Void) rethrows -> Summary {
    for _ in 0..<warmup { try body() }
    var samples = [UInt64](repeating: 0, count: iterations)
    for index in 0..<iterations {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        samples[index] = DispatchTime.now().uptimeNanoseconds - start
    }
    return Summary(nanoseconds: samples)
}

let settings = Settings(arguments: CommandLine.arguments)
do {
    let runtime = try ONNXRuntime.load()
    let session = try ONNXRuntimeSession(
        runtime: runtime,
        path: settings.model,
        name: "mlp",
        options: ONNXRuntimeOptions(intraOpThreads: settings.threads)
    )
    let input = session.signature.inputs[0]
    let outputs = session.signature.outputs.map { $0.name }
    let features = input.shape.dimensions[1]
    var generator = SystemRandomNumberGenerator()
    var results: [String] = []
    for batch in settings.batches {
        let values = (0..<batch * features).map { _ in Float.random(in: -1...1, using: &generator) }
        let tensor = Tensor(name: input.name, shape: [batch, features], values: values)
        let raw = RawRunner(session: session, runtime: runtime, shape: [batch, features], values: values)
        let rawSummary = measure(iterations: settings.iterations, warmup: settings.warmup) { raw.run() }
        results.append(rawSummary.json(batch: batch, path: "raw", iterations: settings.iterations))
        let run = try measure(iterations: settings.iterations, warmup: settings.warmup) {
            _ = try session.run([tensor], outputs: outputs)
        }
        results.append(run.json(batch: batch, path: "run", iterations: settings.iterations))
        let request = InferenceRequest(inputs: [tensor])
        let infer = try measure(iterations: settings.iterations, warmup: settings.warmup) {
            _ = try session.infer(request, modelName: "mlp")
        }
        results.append(infer.json(batch: batch, path: "infer", iterations: settings.iterations))
    }
    print(
        #"{"runtime":"ferry-swift","version":"\#(runtime.version)","threads":\#(settings.threads),"results":[\#(results.joined(separator: ","))]}"#
    )
} catch let error as FerryError {
    FileHandle.standardError.write(Data("InProcessBenchmark: \(error.message)\n".utf8))
    exit(1)
}
