// JSON tensors in and out of Ferry, in-process: a v2 request holding one
// ResNet-50 input (1x3x224x224 FP32, ~1.4 MB of JSON) decoded into a typed
// tensor, and a response with a tensor of the same size written as JSON.
// Prints MB/s of JSON text for each, as JSON lines, best of ROUNDS rounds,
// and the decoding through a document tree that Ferry used before:
//
//   JSONTensorBenchmark [--rounds 5] [--iterations 20] [--write-request FILE]
//                       [--decode-only]
//
// `--decode-only` runs just the decoding, for a profiler to count its
// instructions (callgrind: divide by rounds x iterations).
// The numbers are written as Python writes a float32 tensor's `tolist()`
// (the shortest text of each value as a double), as tritonclient sends them.
// `--write-request` saves the request body, for scripts/bench-json-python.py.
import FerryCore
import FerryProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

var rounds = 5
var iterations = 20
var requestFile: String?
var decodeOnly = false
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let flag = arguments.next() {
    if flag == "--decode-only" {
        decodeOnly = true
        continue
    }
    guard let value = arguments.next() else { fatalError("\(flag) needs a value") }
    switch flag {
    case "--rounds": rounds = Int(value)!
    case "--iterations": iterations = Int(value)!
    case "--write-request": requestFile = value
    default: fatalError("unknown option \(flag)")
    }
}

var generator = SystemRandomNumberGenerator()
let count = 3 * 224 * 224
let values = (0..<count).map { _ in Float.random(in: -2.5...2.5, using: &generator) }
let tensor = Tensor(name: "input", shape: [1, 3, 224, 224], values: values)
var text = #"{"inputs":[{"name":"input","shape":[1,3,224,224],"datatype":"FP32","data":["#
text += values.map { Double($0).description }.joined(separator: ", ")
text += "]}]}"
let body = Data(text.utf8)
if let requestFile { try body.write(to: URL(fileURLWithPath: requestFile)) }

func best(rounds: Int, iterations: Int, _ work: () throws -> Int) rethrows -> (megabytesPerSecond: Double, bytes: Int) {
    var fastest = Duration.seconds(1_000_000)
    var bytes = 0
    for _ in 0..<rounds {
        let clock = ContinuousClock()
        let started = clock.now
        for _ in 0..<iterations { bytes = try work() }
        fastest = min(fastest, (clock.now - started) / iterations)
    }
    let seconds = Double(fastest.components.seconds) + Double(fastest.components.attoseconds) / 1e18
    return (Double(bytes) / seconds / 1e6, bytes)
}

let decoded = try best(rounds: rounds, iterations: iterations) {
    let request = try InferenceRequest(v2JSON: body)
    precondition(request.inputs[0].data.count == count * 4)
    return body.count
}
if decodeOnly { exit(0) }
// The way before issue 13: a tree node and a string per number, then strtof.
let tree = try best(rounds: rounds, iterations: iterations) {
    let request = try InferenceRequest(v2JSON: JSONParser.parse(body))
    precondition(request.inputs[0].data.count == count * 4)
    return body.count
}
let response = InferenceResponse(modelName: "resnet50", modelVersion: "1", id: nil, outputs: [tensor])
let encoded = try best(rounds: rounds, iterations: iterations) { try response.v2JSON().count }
// Every value must read back as the float it was written from.
let check = try InferenceRequest(v2JSON: body).inputs[0]
let readBack = try check.values(as: Float.self)
precondition(readBack == values, "decoding changed a value")

for (name, result) in [("decode request", decoded), ("decode request as a tree", tree), ("encode response", encoded)] {
    print("{\"path\":\"\(name)\",\"json_bytes\":\(result.bytes),\"megabytes_per_second\":\((result.megabytesPerSecond * 10).rounded() / 10)}")
}
