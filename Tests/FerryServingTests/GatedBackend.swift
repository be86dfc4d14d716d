import FerryCore
import FerryONNXRuntime
import Foundation
import Synchronization

/// The real ONNX Runtime backend with a gate in front of `run`: a request
/// that reaches a model instance waits there until the test opens the gate,
/// so "running" and "queued" are states a test can hold requests in.
struct GatedBackend: Backend {
    let inner: ONNXRuntimeBackend
    let gate: Gate
    var platform: String { inner.platform }

    func loadModel(atPath path: String, name: String) throws(FerryError) -> any ModelSession {
        GatedSession(inner: try inner.loadModel(atPath: path, name: name), gate: gate)
    }
}

struct GatedSession: ModelSession {
    let inner: any ModelSession
    let gate: Gate
    var signature: ModelSignature { inner.signature }
    var metadata: ModelMetadata { inner.metadata }

    func run(_ inputs: [Tensor], outputs: [String]) throws(FerryError) -> [Tensor] {
        gate.pass()
        return try inner.run(inputs, outputs: outputs)
    }
}

/// A gate threads wait at until it opens; counts who arrived.
///
/// `@unchecked Sendable`: `open` and `arrived` are only touched under `condition`.
final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private var open = false
    private var arrived = 0

    init(open: Bool = false) { self.open = open }

    func pass() {
        condition.lock()
        arrived += 1
        condition.broadcast()
        while !open { condition.wait() }
        condition.unlock()
    }

    func release() {
        condition.lock()
        open = true
        condition.broadcast()
        condition.unlock()
    }

    var arrivals: Int {
        condition.lock()
        defer { condition.unlock() }
        return arrived
    }
}
