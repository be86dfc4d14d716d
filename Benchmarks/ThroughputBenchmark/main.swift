// The best batched throughput ONNX Runtime reaches in-process on this
// machine, the yardstick for Ferry's dynamic batching under load: SESSIONS
// sessions of THREADS intra-op threads each, every session on its own thread
// running batches of BATCH back to back on one prepared input for SECONDS.
//
//   ThroughputBenchmark --model PATH [--sessions 1,2] [--threads 2,1] [--batches 1,4,8,16,32] [--seconds 6]
//                       [--device cpu|cuda:N] [--tensorrt fp16|fp32]
//
// On a GPU (`--device cuda:0`, with FERRY_ONNXRUNTIME_LIB naming the GPU
// build) the sessions run on ONNX Runtime's CUDA provider, or TensorRT's
// before it with `--tensorrt`: the raw figures scripts/bench-gpu compares
// `ferry serve` with.
//
// `--sessions` and `--threads` pair up (1 session of 2 threads, 2 of 1 by
// default: both fill 2 cores). Prints one JSON object per line per setting.
import FerryCore
import FerryONNXRuntime
import Foundation
import Synchronization

struct Settings {
    var model = ""
    var sessions = [1, 2]
    var threads = [2, 1]
    var batches = [1, 4, 8, 16, 32]
    var seconds = 6.0
    var device = ComputeDevice.cpu
    var accelerators: [ExecutionAccelerator] = []
    var placement: InstancePlacement { InstancePlacement(device: device, accelerators: accelerators) }

    init(arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            guard let value = iterator.next() else { fatalError("\(flag) needs a value") }
            let list = { value.split(separator: ",").map { Int($0)! } }
            switch flag {
            case "--model": model = value
            case "--sessions": sessions = list()
            case "--threads": threads = list()
            case "--batches": batches = list()
            case "--seconds": seconds = Double(value)!
            case "--device":
                device = value == "cpu" ? .cpu : .gpu(Int(value.split(separator: ":").last!)!)
            case "--tensorrt":
                accelerators = [ExecutionAccelerator(name: "tensorrt", parameters: ["precision_mode": value.uppercased()])]
            default: fatalError("unknown option \(flag)")
            }
        }
        precondition(!model.isEmpty && sessions.count == threads.count, "--model is required; --sessions and --threads pair up")
    }
}

/// Runs each session in a loop on a thread of its own (at least once, then until `seconds` pass); returns runs per session.
func runConcurrently(_ sessions: [ONNXRuntimeSession], input: Tensor, outputs: [String], seconds: Double) -> [Int] {
    let counts = Mutex([Int](repeating: 0, count: sessions.count))
    let group = DispatchGroup()
    let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
    for (index, session) in sessions.enumerated() {
        group.enter()
        Thread.detachNewThread {
            var runs = 0
            repeat {
                _ = try! session.run([input], outputs: outputs)
                runs += 1
            } while DispatchTime.now().uptimeNanoseconds < deadline
            counts.withLock { $0[index] = runs }
            group.leave()
        }
    }
    group.wait()
    return counts.withLock { $0 }
}

let settings = Settings(arguments: CommandLine.arguments)
do {
    let runtime = try ONNXRuntime.load()
    for (sessionCount, threads) in zip(settings.sessions, settings.threads) {
        let sessions = try (0..<sessionCount).map { index in
            try ONNXRuntimeSession(
                runtime: runtime, path: settings.model, name: "bench\(index)",
                options: {
                    var options = ONNXRuntimeOptions(intraOpThreads: threads)
                    options.placement = settings.placement
                    return options
                }())
        }
        let spec = sessions[0].signature.inputs[0]
        let outputs = sessions[0].signature.outputs.map(\.name)
        let item = spec.shape.dimensions.dropFirst()
        for batch in settings.batches {
            let count = batch * item.reduce(1, *)
            let input = Tensor(
                name: spec.name, shape: TensorShape([batch] + item), values: (0..<count).map { _ in Float.random(in: 0...1) })
            _ = runConcurrently(sessions, input: input, outputs: outputs, seconds: 0)  // warm-up: one run each
            let start = DispatchTime.now().uptimeNanoseconds
            let runs = runConcurrently(sessions, input: input, outputs: outputs, seconds: settings.seconds)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let items = runs.reduce(0, +) * batch
            FileHandle.standardOutput.write(
                Data(
                    (#"{"sessions":\#(sessionCount),"threads":\#(threads),"batch":\#(batch),"runs":\#(runs.reduce(0, +)),"seconds":\#(String(format: "%.2f", elapsed)),"items_per_second":\#(String(format: "%.2f", Double(items) / elapsed))}"#
                        + "\n").utf8))
        }
    }
} catch let error as FerryError {
    FileHandle.standardError.write(Data("ThroughputBenchmark: \(error.message)\n".utf8))
    exit(1)
}
