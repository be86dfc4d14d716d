import ArgumentParser
import FerryCore
import FerryONNXRuntime
import FerryServing

/// Options for loading models with ONNX Runtime, shared by every command that does.
struct RuntimeOptions: ParsableArguments {
    @Option(
        name: .customLong("onnxruntime-lib"),
        help: ArgumentHelp("Path to libonnxruntime.so (else FERRY_ONNXRUNTIME_LIB, .deps/, next to ferry, system).", valueName: "path"))
    var libraryPath: String?

    @Option(
        help: ArgumentHelp(
            "Where a model's instances find threads: session (each its own, the cores divided among them) or shared (one pool of every core for all: a lone request uses them all).",
            valueName: "pool"))
    var threadPool: ONNXRuntimeOptions.ThreadPool = .shared

    @Option(help: "Threads ONNX Runtime uses inside one operator (0: its default).")
    var intraOpThreads = 0

    @Option(help: "Threads ONNX Runtime uses across operators in parallel mode (0: its default).")
    var interOpThreads = 0

    @Option(
        help: ArgumentHelp(
            "Graph optimization level: \(ONNXRuntimeOptions.GraphOptimization.allCases.map { $0.rawValue }.joined(separator: ", ")).",
            valueName: "level"))
    var graphOptimization: ONNXRuntimeOptions.GraphOptimization = .all

    @Option(help: ArgumentHelp("Operator execution mode: sequential or parallel.", valueName: "mode"))
    var executionMode: ONNXRuntimeOptions.ExecutionMode = .sequential

    func validate() throws {
        guard intraOpThreads >= 0, interOpThreads >= 0 else {
            throw ValidationError("thread counts must be 0 (ONNX Runtime's default) or more")
        }
    }

    /// `preferGPUBuild`: the GPU build installed in .deps, when there is one, before the CPU build.
    func backend(preferGPUBuild: Bool = false) throws(FerryError) -> ONNXRuntimeBackend {
        let options = ONNXRuntimeOptions(
            threadPool: threadPool,
            intraOpThreads: intraOpThreads,
            interOpThreads: interOpThreads,
            graphOptimization: graphOptimization,
            executionMode: executionMode
        )
        let runtime = try ONNXRuntime.load(libraryPath: libraryPath, sharedPoolThreads: AvailableCores.count, preferGPUBuild: preferGPUBuild)
        return ONNXRuntimeBackend(runtime: runtime, options: options)
    }
}

extension ONNXRuntimeOptions.GraphOptimization: ExpressibleByArgument {}
extension ONNXRuntimeOptions.ThreadPool: ExpressibleByArgument {}
extension ONNXRuntimeOptions.ExecutionMode: ExpressibleByArgument {}
