import FerryCore
import Synchronization

/// The one API the HTTP and gRPC frontends call. Every rule — which model and
/// version answers, whether a request fits it, how it runs, what is counted —
/// lives here, so both protocols behave the same.
public final class InferenceServer: Sendable {
    public static let name = "ferry"
    public static let version = "0.1.0"
    /// The protocol extensions Ferry implements, as listed in server metadata.
    public static let extensions = ["binary_tensor_data", "model_repository", "model_configuration", "statistics"]

    public let manager: ModelManager
    private let stopping = Atomic<Bool>(false)

    public init(manager: ModelManager) {
        self.manager = manager
    }

    // MARK: Health

    public var isLive: Bool { true }

    public func isReady() async -> Bool {
        guard !stopping.load(ordering: .relaxed) else { return false }
        return await manager.isReady
    }

    /// Refuses new inference requests from now on (for a graceful shutdown).
    public func beginShutdown() { stopping.store(true, ordering: .relaxed) }

    /// Whether a model (or one version of it) is ready to answer. A model
    /// neither loaded nor in the repository is not "not ready" but unknown:
    /// every frontend answers it as not found (HTTP 404, gRPC NOT_FOUND).
    public func modelReadiness(_ name: String, version: String? = nil) throws(FerryError) -> Bool {
        guard manager.table.entry(name) != nil || manager.repository.modelNames().contains(name) else {
            throw FerryError(.notFound, "unknown model '\(name)'")
        }
        return (try? servingVersion(name, version)) != nil
    }

    // MARK: Metadata

    /// What v2 model metadata answers for a served model (FerryCore's `ModelDescription` describes a model file).
    public struct ServedModelMetadata: Sendable {
        public var name: String
        public var versions: [String]
        /// The version that answered (the newest ready one unless a version was asked for).
        public var servingVersion: String
        public var platform: String
        public var inputs: [TensorSpec]
        public var outputs: [TensorSpec]

        public var signature: ModelSignature { ModelSignature(inputs: inputs, outputs: outputs) }
    }

    /// v2 model metadata: shapes as a client sends them (the configured dims,
    /// with -1 for the batch dimension when the model batches).
    public func modelMetadata(_ name: String, version: String? = nil) throws(FerryError) -> ServedModelMetadata {
        let model = try servingVersion(name, version)
        let versions = manager.table.entry(name)?.versions.keys.sorted().map(String.init) ?? []
        return ServedModelMetadata(
            name: name,
            versions: version.flatMap { $0.isEmpty ? nil : [$0] } ?? versions,
            servingVersion: String(model.version),
            platform: model.configuration.platform,
            inputs: model.clientSignature.inputs,
            outputs: model.clientSignature.outputs
        )
    }

    public func modelConfiguration(_ name: String, version: String? = nil) throws(FerryError) -> ModelConfiguration {
        try servingVersion(name, version).configuration
    }

    // MARK: Inference

    /// A request that passed admission: the version that answers and
    /// everything the scheduler needs, each worked out once.
    public struct PreparedRequest: Sendable {
        public let modelName: String
        public let requestID: String?
        let model: LoadedModelVersion
        /// The inputs as the model takes them (a configured `reshape` applied).
        let inputs: [Tensor]
        let outputs: [String]
        /// Rows along the batch dimension; 1 for a model that does not batch.
        public let batchSize: Int
        let priority: Int
        let timeout: Duration?

        public var modelVersion: String { String(model.version) }
    }

    /// The admission step every way in goes through (synchronous inference,
    /// an async job's check before it is stored): routes to a version and
    /// checks the request against it — inputs and outputs, the shared batch
    /// size, a reshape, priority and timeout parameters — so a request
    /// accepted to run later fails now if it ever would.
    public func prepare(_ request: InferenceRequest, model name: String, version: String? = nil) throws(FerryError) -> PreparedRequest {
        guard !stopping.load(ordering: .relaxed) else {
            throw FerryError(.unavailable, "the server is shutting down")
        }
        return try prepare(request, on: try servingVersion(name, version), name: name)
    }

    private func prepare(_ request: InferenceRequest, on model: LoadedModelVersion, name: String) throws(FerryError) -> PreparedRequest {
        let config = model.configuration
        let outputs = try model.clientSignature.validate(request, modelName: name)
        let batchSize = try Self.batchSize(of: request, config: config, model: name)
        let policy = model.executor.policy
        return PreparedRequest(
            modelName: name,
            requestID: request.id,
            model: model,
            inputs: try Self.modelInputs(request.inputs, config: config, batchSize: batchSize),
            outputs: outputs,
            batchSize: batchSize,
            priority: try policy.priority(of: request, model: name),
            timeout: try policy.timeout(of: request))
    }

    /// Admits the request, runs it, and records statistics. Cancelling the
    /// task, or `cancellation`, withdraws the request from the queue or stops its run.
    public func infer(
        _ request: InferenceRequest, model name: String, version: String? = nil, cancellation: Cancellation? = nil
    ) async throws(FerryError) -> InferenceResponse {
        let token = cancellation ?? Cancellation()
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<InferenceResponse, FerryError>, Never>) in
                submit(request, model: name, version: version, cancellation: token) { continuation.resume(returning: $0) }
            }
        } onCancel: {
            token.cancel()
        }
        return try result.get()
    }

    /// `infer` for callers that are not tasks (the gRPC fast path runs on NIO
    /// event loops): `completion` runs once, on a model instance's thread or,
    /// when the request is refused before it is queued, on the caller's.
    public func submit(
        _ request: InferenceRequest,
        model name: String,
        version: String? = nil,
        cancellation: Cancellation? = nil,
        completion: @escaping @Sendable (Result<InferenceResponse, FerryError>) -> Void
    ) {
        let submission = Submission(
            request: request, name: name, version: version, started: ContinuousClock.now, cancellation: cancellation, completion: completion)
        let model: LoadedModelVersion
        do throws(FerryError) {
            guard !stopping.load(ordering: .relaxed) else {
                throw FerryError(.unavailable, "the server is shutting down")
            }
            model = try servingVersion(name, version)
        } catch {
            unserved(submission, error, attemptsLeft: 3)
            return
        }
        if manager.memoryBudget != nil { model.markUsed() }
        submit(submission, to: model, attemptsLeft: 3)
    }

    /// A request on its way to a version, with what each new try needs.
    private struct Submission: Sendable {
        let request: InferenceRequest
        let name: String
        let version: String?
        let started: ContinuousClock.Instant
        let cancellation: Cancellation?
        let completion: @Sendable (Result<InferenceResponse, FerryError>) -> Void
    }

    /// A request whose model serves no version gets `error`, unless the model
    /// loads on demand (a memory budget) and tries are left: then it waits for
    /// the load, up to its `timeout` parameter if it has one, and runs as any other.
    private func unserved(_ submission: Submission, _ error: FerryError, attemptsLeft: Int) {
        guard attemptsLeft > 0, manager.loadsOnDemand(submission.name) else {
            submission.completion(.failure(error))
            return
        }
        let manager = manager
        let answer = AnswerOnce()
        if let microseconds = submission.request.parameters["timeout"]?.intValue, microseconds > 0 {
            Task {
                try? await Task.sleep(for: .microseconds(microseconds))
                guard answer.claim() else { return }
                submission.completion(
                    .failure(
                        FerryError(
                            .deadlineExceeded,
                            "model '\(submission.name)' did not load within the request's timeout (\(microseconds) µs); it goes on loading")))
            }
        }
        Task {
            do throws(FerryError) {
                try await manager.loadOnDemand(submission.name)
            } catch {
                if answer.claim() { submission.completion(.failure(error)) }
                return
            }
            guard answer.claim() else { return }
            if submission.cancellation?.isCancelled == true {
                submission.completion(.failure(FerryError(.cancelled, "the request was cancelled while model '\(submission.name)' loaded")))
                return
            }
            let model: LoadedModelVersion
            do throws(FerryError) {
                model = try servingVersion(submission.name, submission.version)
            } catch {
                // Unloaded again before the request reached it: it loads again.
                unserved(submission, error, attemptsLeft: attemptsLeft - 1)
                return
            }
            model.markUsed()
            submit(submission, to: model, attemptsLeft: attemptsLeft)
        }
    }

    /// Whichever of a load and a timeout comes first answers the request.
    private final class AnswerOnce: Sendable {
        private let answered = Atomic<Bool>(false)

        func claim() -> Bool { !answered.exchange(true, ordering: .acquiringAndReleasing) }
    }

    /// With a memory budget, loads a model a client asks about (its metadata,
    /// its config, an async job's check) as a request for it would; a failure
    /// is left for the call that follows to report.
    public func loadOnDemand(_ name: String) async {
        guard manager.loadsOnDemand(name) else { return }
        try? await manager.loadOnDemand(name)
    }

    /// A version picked just before a swap or unload retired it refuses the
    /// request; the table then names its successor (or says why there is none).
    private func submit(_ submission: Submission, to model: LoadedModelVersion, attemptsLeft: Int) {
        let (name, started, completion) = (submission.name, submission.started, submission.completion)
        let prepared: PreparedRequest
        do throws(FerryError) {
            prepared = try prepare(submission.request, on: model, name: name)
        } catch {
            // A request refused by the version it reached counts as that version's failure, as in Triton.
            Self.recordFailure(on: model, since: started)
            completion(.failure(error))
            return
        }
        model.executor.submit(
            prepared.inputs,
            outputs: prepared.outputs,
            rows: prepared.batchSize,
            priority: prepared.priority,
            timeout: prepared.timeout,
            cancellation: submission.cancellation
        ) { [self] result in
            switch result {
            case .success(let execution):
                let total = ContinuousClock.now - started
                model.statistics.recordSuccess(total: total, queue: execution.queue, compute: execution.compute)
                model.metrics.recordSuccess(total: total, queue: execution.queue, compute: execution.compute)
                var response = InferenceResponse(
                    modelName: prepared.modelName,
                    modelVersion: prepared.modelVersion,
                    id: prepared.requestID,
                    outputs: Self.clientOutputs(execution.outputs, config: model.configuration, batchSize: prepared.batchSize))
                response.timing = InferenceTiming(queue: execution.queue, compute: execution.compute)
                completion(.success(response))
            case .failure(let error):
                Self.recordFailure(on: model, since: started)
                completion(.failure(error))
            case nil:
                let next: LoadedModelVersion
                do throws(FerryError) {
                    next = try servingVersion(name, submission.version)
                } catch {
                    unserved(submission, error, attemptsLeft: attemptsLeft - 1)
                    return
                }
                guard next !== model, attemptsLeft > 1 else {
                    completion(.failure(FerryError(.unavailable, "model '\(name)' is unloading")))
                    return
                }
                submit(submission, to: next, attemptsLeft: attemptsLeft - 1)
            }
        }
    }

    private static func recordFailure(on model: LoadedModelVersion, since started: ContinuousClock.Instant) {
        let total = ContinuousClock.now - started
        model.statistics.recordFailure(total: total)
        model.metrics.recordFailure(total: total)
    }

    /// Requests queued or running on each serving version, for the
    /// `ferry_inference_pending_request_count` gauge an autoscaler follows.
    public func pendingRequestsByVersion() -> [(model: String, version: String, pending: Int)] {
        manager.table.all.sorted { $0.key < $1.key }.flatMap { name, entry in
            entry.versions.sorted { $0.key < $1.key }.map { (model: name, version: String($0.key), pending: $0.value.executor.pending) }
        }
    }

    /// Requests queued or running on a model's serving versions.
    public func pendingRequests(model name: String) -> Int {
        (manager.table.entry(name)?.versions.values).map { $0.reduce(0) { $0 + $1.executor.pending } } ?? 0
    }

    /// Requests an instance has taken (running now) on a model's serving versions.
    public func runningRequests(model name: String) -> Int {
        (manager.table.entry(name)?.versions.values).map { $0.reduce(0) { $0 + $1.executor.running } } ?? 0
    }

    // MARK: Statistics and repository

    /// Statistics of every serving version, of one model, or of one version.
    public func statistics(model name: String? = nil, version: String? = nil) throws(FerryError) -> [ModelStatistics] {
        guard let name, !name.isEmpty else {
            return manager.table.all.keys.sorted().flatMap { name in
                (manager.table.entry(name)?.versions ?? [:]).sorted { $0.key < $1.key }.map { $0.value.statistics.snapshot }
            }
        }
        if let version, !version.isEmpty { return [try servingVersion(name, version).statistics.snapshot] }
        guard let entry = manager.table.entry(name), !entry.versions.isEmpty else {
            _ = try servingVersion(name, nil)
            return []
        }
        return entry.versions.sorted { $0.key < $1.key }.map { $0.value.statistics.snapshot }
    }

    public func repositoryIndex(readyOnly: Bool = false) async -> [ModelIndexEntry] {
        await manager.index(readyOnly: readyOnly)
    }

    /// Loads (or reloads) a model from the repository. Triton's load request
    /// may carry parameters that override the config or supply files; Ferry
    /// reads the repository only, so any parameter is refused by name.
    public func loadModel(_ name: String, parameterNames: [String] = []) async throws(FerryError) {
        guard parameterNames.isEmpty else {
            throw FerryError(
                .invalidArgument,
                "load parameters (\(parameterNames.sorted().joined(separator: ", "))) are not supported; change the repository instead")
        }
        try checkModelControl()
        try await manager.load(name)
    }

    public func unloadModel(_ name: String) async throws(FerryError) {
        try checkModelControl()
        try await manager.unload(name)
    }

    private func checkModelControl() throws(FerryError) {
        guard manager.controlMode == .explicit else {
            throw FerryError(
                .unavailable,
                "explicit model load and unload are not allowed in model control mode '\(manager.controlMode.rawValue)' (start ferry serve with --model-control-mode explicit)"
            )
        }
    }

    // MARK: Routing

    /// The version that answers: the one asked for, or the newest serving.
    func servingVersion(_ name: String, _ version: String?) throws(FerryError) -> LoadedModelVersion {
        guard let entry = manager.table.entry(name) else {
            if manager.repository.modelNames().contains(name) {
                throw FerryError(.unavailable, "model '\(name)' is not loaded")
            }
            throw FerryError(.notFound, "unknown model '\(name)'")
        }
        guard entry.state == .ready, !entry.versions.isEmpty else {
            let reason = entry.reason.isEmpty ? "" : ": \(entry.reason)"
            throw FerryError(.unavailable, "model '\(name)' is not ready (\(entry.state.rawValue)\(reason))")
        }
        guard let version, !version.isEmpty else {
            return entry.versions[entry.versions.keys.max()!]!
        }
        guard let number = Int64(version) else {
            throw FerryError(.invalidArgument, "model version '\(version)' is not a number")
        }
        guard let model = entry.versions[number] else {
            let serving = entry.versions.keys.sorted().map(String.init).joined(separator: ", ")
            throw FerryError(.notFound, "model '\(name)' has no version \(version) ready (serving: \(serving))")
        }
        return model
    }

    // MARK: Shapes as clients see them

    /// A configured tensor as clients send or receive it: the configured dims,
    /// after a -1 batch dimension when the model batches.
    static func clientSpec(_ tensor: ModelConfiguration.Tensor, config: ModelConfiguration) -> TensorSpec {
        let dims = config.maxBatchSize > 0 ? [-1] + tensor.dims : tensor.dims
        return TensorSpec(name: tensor.name, datatype: tensor.datatype, shape: TensorShape(dims))
    }

    static func batchSize(of request: InferenceRequest, config: ModelConfiguration, model: String) throws(FerryError) -> Int {
        guard config.maxBatchSize > 0 else { return 1 }
        let sizes = Set(request.inputs.compactMap { $0.shape.dimensions.first })
        guard sizes.count <= 1 else {
            throw FerryError(
                .invalidArgument,
                "inputs of a request to model '\(model)' must share the batch size (first dimension); got \(sizes.sorted())")
        }
        // An empty batch (0 rows) is valid: it runs and returns empty outputs.
        let size = sizes.first ?? 1
        guard size <= config.maxBatchSize else {
            throw FerryError(
                .invalidArgument,
                "the request's batch size (first dimension) is \(size), but model '\(model)' takes at most \(config.maxBatchSize) (max_batch_size)"
            )
        }
        return size
    }

    /// Applies the configured `reshape`: the model sees that shape instead of `dims`.
    static func modelInputs(_ inputs: [Tensor], config: ModelConfiguration, batchSize: Int) throws(FerryError) -> [Tensor] {
        guard config.inputs.contains(where: { $0.reshape != nil }) else { return inputs }
        return try inputs.map { tensor throws(FerryError) in
            guard let reshape = config.inputs.first(where: { $0.name == tensor.name })?.reshape else { return tensor }
            let target = config.maxBatchSize > 0 ? [batchSize] + reshape : reshape
            guard let shape = resolve(target, elements: tensor.shape.elementCount ?? -1) else {
                throw FerryError(
                    .invalidArgument,
                    "input '\(tensor.name)' of shape \(tensor.shape) cannot take the configured reshape \(TensorShape(target))"
                )
            }
            var reshaped = tensor
            reshaped.shape = shape
            return reshaped
        }
    }

    /// Gives outputs with a configured `reshape` the configured dims back.
    static func clientOutputs(_ outputs: [Tensor], config: ModelConfiguration, batchSize: Int) -> [Tensor] {
        guard config.outputs.contains(where: { $0.reshape != nil }) else { return outputs }
        return outputs.map { tensor in
            guard let output = config.outputs.first(where: { $0.name == tensor.name }), output.reshape != nil,
                let shape = resolve(
                    config.maxBatchSize > 0 ? [batchSize] + output.dims : output.dims, elements: tensor.shape.elementCount ?? -1)
            else { return tensor }
            var reshaped = tensor
            reshaped.shape = shape
            return reshaped
        }
    }

    /// A shape with at most one -1, resolved so it holds exactly `elements`.
    static func resolve(_ dimensions: [Int], elements: Int) -> TensorShape? {
        guard elements >= 0, dimensions.filter({ $0 == -1 }).count <= 1 else { return nil }
        var known = 1
        for dimension in dimensions where dimension != -1 {
            let (product, overflow) = known.multipliedReportingOverflow(by: dimension)
            guard !overflow, dimension >= 0 else { return nil }
            known = product
        }
        guard dimensions.contains(-1) else { return known == elements ? TensorShape(dimensions) : nil }
        guard known > 0, elements % known == 0 else { return nil }
        return TensorShape(dimensions.map { $0 == -1 ? elements / known : $0 })
    }
}
