import CONNXRuntime
import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One ONNX Runtime session: a model loaded and ready to run.
///
/// `@unchecked Sendable`: the stored properties never change after `init`,
/// and `OrtSession::Run` is documented as safe to call concurrently.
public final class ONNXRuntimeSession: ModelSession, @unchecked Sendable {
    public let name: String
    public let signature: ModelSignature
    public let metadata: ModelMetadata

    let runtime: ONNXRuntime
    package let handle: OpaquePointer
    /// Passed to every Run: with NULL, ONNX Runtime builds a default
    /// RunOptions on each call (measured: ~300 of ~36k instructions per
    /// batch-1 MLP call).
    private let runOptions: OpaquePointer
    private let inputNames: CStringList
    private let outputNames: CStringList
    private let inputIndex: [String: Int]
    private let outputIndex: [String: Int]

    /// Loads a model from a file.
    public convenience init(
        runtime: ONNXRuntime,
        path: String,
        name: String? = nil,
        options: ONNXRuntimeOptions = ONNXRuntimeOptions()
    ) throws(FerryError) {
        let modelName = name ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        // ONNX Runtime's message for a missing file is long and indirect; say it plainly.
        guard FileManager.default.fileExists(atPath: path) else {
            throw FerryError(.notFound, "model '\(modelName)': no model file at \(path)")
        }
        try self.init(runtime: runtime, name: modelName, source: path, options: options) { options, session in
            runtime.api.pointee.CreateSession!(runtime.environment, path, options, &session)
        }
    }

    /// Loads a model from its serialized bytes.
    public convenience init(
        runtime: ONNXRuntime,
        modelData: Data,
        name: String,
        options: ONNXRuntimeOptions = ONNXRuntimeOptions()
    ) throws(FerryError) {
        try self.init(runtime: runtime, name: name, source: "\(modelData.count) bytes", options: options) { options, session in
            modelData.withUnsafeBytes { bytes in
                runtime.api.pointee.CreateSessionFromArray!(runtime.environment, bytes.baseAddress, bytes.count, options, &session)
            }
        }
    }

    private init(
        runtime: ONNXRuntime,
        name: String,
        source: String,
        options: ONNXRuntimeOptions,
        create: (OpaquePointer, inout OpaquePointer?) -> OpaquePointer?
    ) throws(FerryError) {
        var session: OpaquePointer?
        do throws(ONNXRuntimeFailure) {
            let sessionOptions = try runtime.makeSessionOptions(options)
            defer { runtime.api.pointee.ReleaseSessionOptions!(sessionOptions) }
            try runtime.check(create(sessionOptions, &session), "CreateSession")
        } catch {
            throw error.loadError(model: name, path: source)
        }
        var runOptions: OpaquePointer?
        do throws(FerryError) {
            do throws(ONNXRuntimeFailure) {
                try runtime.check(runtime.api.pointee.CreateRunOptions!(&runOptions), "CreateRunOptions")
            } catch {
                throw error.loadError(model: name, path: source)
            }
            let signature = ModelSignature(
                inputs: try runtime.readSpecs(session!, .input, model: name),
                outputs: try runtime.readSpecs(session!, .output, model: name)
            )
            self.metadata = try runtime.readMetadata(session!, model: name)
            self.signature = signature
        } catch {
            if let runOptions { runtime.api.pointee.ReleaseRunOptions!(runOptions) }
            runtime.api.pointee.ReleaseSession!(session)
            throw error
        }
        self.runOptions = runOptions!
        self.runtime = runtime
        self.handle = session!
        self.name = name
        self.inputNames = CStringList(signature.inputs.map { $0.name })
        self.outputNames = CStringList(signature.outputs.map { $0.name })
        self.inputIndex = Dictionary(uniqueKeysWithValues: signature.inputs.enumerated().map { ($1.name, $0) })
        self.outputIndex = Dictionary(uniqueKeysWithValues: signature.outputs.enumerated().map { ($1.name, $0) })
    }

    deinit {
        runtime.api.pointee.ReleaseRunOptions!(runOptions)
        runtime.api.pointee.ReleaseSession!(handle)
    }

    public func run(_ inputs: [Tensor], outputs: [String]) throws(FerryError) -> [Tensor] {
        try run(inputs, outputs: outputs, runOptions: runOptions)
    }

    /// A stoppable run: its own RunOptions, whose terminate flag `cancellation`
    /// sets (ONNX Runtime checks it between operators, loop iterations included).
    public func run(_ inputs: [Tensor], outputs: [String], cancellation: Cancellation) throws(FerryError) -> [Tensor] {
        var options: OpaquePointer?
        do throws(ONNXRuntimeFailure) {
            try runtime.check(runtime.api.pointee.CreateRunOptions!(&options), "CreateRunOptions")
        } catch {
            throw error.runError(model: name, input: nil)
        }
        let handle = RunOptionsHandle(runtime: runtime, options: options!)
        return try cancellation.whileRunning(stop: { handle.terminate() }) { () throws(FerryError) -> [Tensor] in
            do throws(FerryError) {
                return try run(inputs, outputs: outputs, runOptions: handle.options)
            } catch  where cancellation.isCancelled {
                throw FerryError(
                    .cancelled, "the run of model '\(name)' was stopped: its request was cancelled", backendCode: error.backendCode)
            }
        }
    }

    private func run(_ inputs: [Tensor], outputs: [String], runOptions: OpaquePointer) throws(FerryError) -> [Tensor] {
        // Per-call pointer arrays live on the stack: at batch 1 the heap
        // allocations around Run cost as much as the model itself.
        try withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: inputs.count + outputs.count) {
            names throws(FerryError) -> [Tensor] in
            for (position, tensor) in inputs.enumerated() {
                guard let index = inputIndex[tensor.name] else {
                    throw FerryError(.invalidArgument, "model '\(name)' has no input named '\(tensor.name)'")
                }
                names[position] = inputNames[index]
            }
            for (position, output) in outputs.enumerated() {
                guard let index = outputIndex[output] else {
                    throw FerryError(.invalidArgument, "model '\(name)' has no output named '\(output)'")
                }
                names[inputs.count + position] = outputNames[index]
            }
            return try InputValues.with(inputs, runtime: runtime, model: name) { values throws(FerryError) -> [Tensor] in
                try withUnsafeTemporaryAllocation(of: OpaquePointer?.self, capacity: outputs.count) {
                    results throws(FerryError) -> [Tensor] in
                    results.initialize(repeating: nil)
                    defer { for case let value? in results { runtime.api.pointee.ReleaseValue!(value) } }
                    let status = runtime.api.pointee.Run!(
                        handle, runOptions, names.baseAddress, values.baseAddress, inputs.count,
                        names.baseAddress! + inputs.count, outputs.count, results.baseAddress
                    )
                    // The names' storage lives in `inputNames`/`outputNames`; keep them
                    // alive until Run has returned (release builds end lifetimes early).
                    withExtendedLifetime((inputNames, outputNames)) {}
                    do throws(ONNXRuntimeFailure) {
                        try runtime.check(status, "Run")
                    } catch {
                        throw error.runError(model: name, input: Self.inputNamed(in: error.message, among: inputs.map { $0.name }))
                    }
                    var tensors: [Tensor] = []
                    tensors.reserveCapacity(outputs.count)
                    // ONNX Runtime may return a caller's input buffer as an output
                    // (a graph output that is a graph input, or an aliasing op such as
                    // Reshape on one). That memory is the request's, so it is copied.
                    // (Inputs ONNX Runtime copied itself are refcounted by it, and safe.)
                    func isInputMemory(_ address: UnsafeRawPointer) -> Bool {
                        inputs.contains { tensor in
                            tensor.datatype != .bytes
                                && tensor.data.withUnsafeBytes { bytes in
                                    guard let base = bytes.baseAddress else { return false }
                                    return address >= base && address < base + bytes.count
                                }
                        }
                    }
                    for index in 0..<outputs.count {
                        let value = results[index]!
                        results[index] = nil
                        tensors.append(
                            try OutputValue.tensor(
                                taking: value, name: outputs[index], runtime: runtime, model: name, isInputMemory: isInputMemory
                            )
                        )
                    }
                    return tensors
                }
            }
        }
    }

    /// ONNX Runtime names the offending input in its message text; find which.
    static func inputNamed(in message: String, among names: [String]) -> String? {
        // Only ONNX Runtime's own phrasings ("... for input: NAME for the following
        // indices") count; a bare name match would blame an input called "input"
        // for any message containing that word.
        let mentioned = names.filter { name in
            ["input: ", "Input: ", "input name: "].contains { prefix in
                guard let range = message.firstRange(of: prefix + name) else { return false }
                return range.upperBound == message.endIndex || message[range.upperBound].isWhitespace
            }
        }
        return mentioned.count == 1 ? mentioned[0] : nil
    }
}

/// NUL-terminated copies of strings that stay at fixed addresses for the
/// life of the list (ONNX Runtime takes input and output names as `char**`).
final class CStringList: @unchecked Sendable {
    private let pointers: [UnsafeMutablePointer<CChar>]

    init(_ strings: [String]) { pointers = strings.map { strdup($0)! } }

    subscript(index: Int) -> UnsafePointer<CChar> { UnsafePointer(pointers[index]) }

    deinit { for pointer in pointers { free(pointer) } }
}

/// The ONNX Runtime backend: loads `.onnx` files into sessions.
public struct ONNXRuntimeBackend: Backend {
    public let runtime: ONNXRuntime
    public let options: ONNXRuntimeOptions
    public var platform: String { "onnxruntime_onnx" }
    public var sharedThreads: Int? { options.threadPool == .shared ? runtime.sharedPoolThreads : nil }

    public init(runtime: ONNXRuntime, options: ONNXRuntimeOptions = ONNXRuntimeOptions()) {
        self.runtime = runtime
        self.options = options
    }

    public func loadModel(atPath path: String, name: String) throws(FerryError) -> any ModelSession {
        try ONNXRuntimeSession(runtime: runtime, path: path, name: name, options: options)
    }

    public func loadModel(atPath path: String, name: String, suggestedThreads: Int) throws(FerryError) -> any ModelSession {
        try loadModel(atPath: path, name: name, suggestedThreads: suggestedThreads, placement: .cpu)
    }

    public func gpuUnavailableReason(accelerators: [ExecutionAccelerator]) -> String? {
        runtime.gpuUnavailableReason(accelerators: accelerators)
    }

    public func loadModel(atPath path: String, name: String, suggestedThreads: Int, placement: InstancePlacement) throws(FerryError)
        -> any ModelSession
    {
        var options = options
        if options.intraOpThreads == 0 { options.intraOpThreads = max(1, suggestedThreads) }
        options.placement = placement
        return try ONNXRuntimeSession(runtime: runtime, path: path, name: name, options: options)
    }
}

/// A run's own `OrtRunOptions`, released with the handle; `terminate` may be
/// called from any thread (ONNX Runtime reads the flag atomically).
private final class RunOptionsHandle: @unchecked Sendable {
    let runtime: ONNXRuntime
    let options: OpaquePointer

    init(runtime: ONNXRuntime, options: OpaquePointer) {
        self.runtime = runtime
        self.options = options
    }

    func terminate() {
        _ = try? runtime.check(runtime.api.pointee.RunOptionsSetTerminate!(options), "RunOptionsSetTerminate")
    }

    deinit { runtime.api.pointee.ReleaseRunOptions!(options) }
}
