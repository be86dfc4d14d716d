import FerryCore
import Logging

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Loads, reloads and unloads the models of a repository, and keeps the
/// table of what serves. Control operations are serialized by the actor;
/// requests never wait for them (they read `ServingTable`).
public actor ModelManager {
    /// Triton's `--model-control-mode`.
    public enum ControlMode: String, Sendable, CaseIterable {
        /// Load every model at start; the repository API cannot change them.
        case none
        /// Load only what `--load-model` names at start; load and unload through the API.
        case explicit
        /// Load every model at start, then follow the repository's changes.
        case poll
    }

    public nonisolated let repository: ModelRepository
    public nonisolated let controlMode: ControlMode
    nonisolated let table = ServingTable()
    private let backend: any Backend
    private let logger: Logger
    private let defaultInstanceCount: Int?
    private let defaultMaxBatchSize: Int
    private let defaultBatching: ModelConfiguration.DynamicBatching
    private let cores: Int
    /// Fingerprints of a failed load, so polling does not retry unchanged files.
    private var failedAttempts: [String: [Int64: VersionFingerprint]] = [:]
    private var initialLoadDone = false
    private var initialLoadWaiters: [CheckedContinuation<Void, Never>] = []
    /// Models with a load or unload under way, and who waits for them: the
    /// actor is reentrant across awaits, so operations on one model are
    /// queued here to run one at a time.
    private var busy: [String: [CheckedContinuation<Void, Never>]] = [:]

    public init(
        repository: ModelRepository,
        backend: any Backend,
        controlMode: ControlMode = .none,
        defaultInstanceCount: Int? = 1,
        defaultMaxBatchSize: Int = ModelConfiguration.defaultMaxBatchSize,
        defaultBatching: ModelConfiguration.DynamicBatching = .init(),
        cores: Int = AvailableCores.count,
        logger: Logger = Logger(label: "ferry.models")
    ) {
        self.defaultMaxBatchSize = defaultMaxBatchSize
        self.defaultBatching = defaultBatching
        self.cores = max(1, cores)
        self.repository = repository
        self.backend = backend
        self.controlMode = controlMode
        self.defaultInstanceCount = defaultInstanceCount.map { max(1, $0) }
        self.logger = logger
    }

    /// Loads the models to serve at start: all of them, or in explicit mode
    /// those named (`*` for all). A model that fails stays UNAVAILABLE with
    /// its reason; the others serve.
    public func loadInitialModels(explicitlyNamed names: [String] = []) async {
        for directory in repository.misnamedDirectories() {
            logger.warning(
                "directory skipped: its name is not a model name", metadata: ["directory": "\(ModelName.escaped(directory))",
                "reason": "\(ModelName.problem(directory) ?? "")"])
        }
        let all = repository.modelNames()
        let selected: [String]
        if controlMode == .explicit {
            selected = names.contains("*") ? all : names
        } else {
            selected = all
        }
        for name in selected {
            do throws(FerryError) {
                try await load(name)
            } catch {
                // A load that began logged its failure, with full paths; one
                // refused before (an invalid name, an unknown model) did not.
                if table.entry(name) == nil {
                    logger.error("model not loaded", metadata: ["model": "\(ModelName.escaped(name))", "reason": "\(error.message)"])
                }
            }
        }
        initialLoadDone = true
        for waiter in initialLoadWaiters { waiter.resume() }
        initialLoadWaiters = []
    }

    /// Returns once the models to serve at start have loaded (or failed to):
    /// work stored before a restart waits for them instead of failing.
    public func waitForInitialLoad() async {
        guard !initialLoadDone else { return }
        await withCheckedContinuation { initialLoadWaiters.append($0) }
    }

    /// Ready when the initial load is done and every model that was asked for
    /// serves (Triton's strict readiness).
    public var isReady: Bool {
        initialLoadDone && table.all.values.allSatisfy { $0.state == .ready || $0.reason == Self.unloadedReason }
    }

    static let unloadedReason = "unloaded"

    /// Loads a model, or reloads it if its files changed. New versions are
    /// fully loaded before they replace the old ones; requests already running
    /// on an old version finish on it.
    public func load(_ name: String) async throws(FerryError) {
        try ModelName.validate(name)
        await acquire(name)
        defer { release(name) }
        try await performLoad(name)
    }

    /// Unloads a model: new requests are refused at once, running ones finish.
    public func unload(_ name: String) async throws(FerryError) {
        try ModelName.validate(name)
        await acquire(name)
        defer { release(name) }
        try await performUnload(name)
    }

    private func acquire(_ name: String) async {
        guard busy[name] != nil else {
            busy[name] = []
            return
        }
        await withCheckedContinuation { busy[name, default: []].append($0) }
    }

    /// Hands the model to the next waiting operation, if any.
    private func release(_ name: String) {
        guard var waiters = busy[name], !waiters.isEmpty else {
            busy[name] = nil
            return
        }
        let next = waiters.removeFirst()
        busy[name] = waiters
        next.resume()
    }

    private func performLoad(_ name: String) async throws(FerryError) {
        let entry = try repository.entry(named: name)
        let previous = table.entry(name)
        let serving = previous?.versions ?? [:]
        if serving.isEmpty { table.setState(name, .loading) }
        do throws(FerryError) {
            let configuration =
                try entry.configText.map { text throws(FerryError) in
                    try ModelConfiguration(pbtxt: text, modelName: name)
                } ?? ModelConfiguration(name: name)
            let available = entry.versionDirectories.keys.filter { version in
                entry.modelFile(version: version, defaultFilename: configuration.defaultModelFilename)
                    .map { FileManager.default.fileExists(atPath: $0) } ?? false
            }
            let selected = configuration.versionPolicy.select(from: Array(available))
            if selected.isEmpty && !serving.isEmpty {
                // Its version files are gone: stop serving it, as Triton does.
                let replaced = table.publish(
                    name,
                    ServingTable.Entry(state: .unavailable, reason: "no version left in the repository", versions: [:])
                )
                retire(Array((replaced?.versions ?? [:]).values))
                logger.info("model unloaded: no version left in the repository", metadata: ["model": "\(name)"])
                return
            }
            guard !selected.isEmpty else {
                throw FerryError(
                    .failedPrecondition,
                    "model '\(name)' has no version directory holding \(configuration.defaultModelFilename) that its version policy selects"
                )
            }
            var fingerprints: [Int64: VersionFingerprint] = [:]
            for version in selected {
                let file = entry.modelFile(version: version, defaultFilename: configuration.defaultModelFilename)!
                fingerprints[version] = VersionFingerprint(modelFile: FileFingerprint(path: file), configText: entry.configText)
            }
            if Set(serving.keys) == Set(selected), serving.allSatisfy({ fingerprints[$0.key] == $0.value.fingerprint }),
                previous?.state == .ready
            {
                return  // nothing changed
            }
            if serving.isEmpty, failedAttempts[name] == fingerprints, controlMode == .poll, initialLoadDone {
                throw FerryError(.failedPrecondition, previous?.reason ?? "model '\(name)' failed to load")
            }

            var loaded: [Int64: LoadedModelVersion] = [:]
            var failures: [String] = []
            for version in selected {
                if let current = serving[version], current.fingerprint == fingerprints[version] {
                    loaded[version] = current
                    continue
                }
                let file = entry.modelFile(version: version, defaultFilename: configuration.defaultModelFilename)!
                do throws(FerryError) {
                    loaded[version] = try await loadVersion(
                        name: name, version: version, file: file, configuration: configuration, fingerprint: fingerprints[version]!
                    )
                } catch {
                    failures.append(error.message)
                }
            }
            guard !loaded.isEmpty else {
                failedAttempts[name] = fingerprints
                throw FerryError(.failedPrecondition, failures.joined(separator: "; "))
            }
            failedAttempts[name] = nil
            let replaced = table.publish(
                name, ServingTable.Entry(state: .ready, reason: failures.joined(separator: "; "), versions: loaded))
            // Retire first, so a reloaded version number ends with its gauge at 1.
            retire((replaced?.versions ?? [:]).values.filter { old in !loaded.values.contains { $0 === old } })
            for (version, model) in loaded where serving[version] !== model {
                ModelStateMetric.set(model: name, version: String(version), ready: true)
                logger.info(
                    "model version ready",
                    metadata: ["model": "\(name)", "version": "\(version)", "instances": "\(model.executor.instanceCount)"]
                )
            }
        } catch {
            let shown = FerryError(error.code, repository.relativePaths(in: error.message), backendCode: error.backendCode)
            if serving.isEmpty {
                logger.error("model failed to load", metadata: ["model": "\(name)", "reason": "\(error.message)"])
                table.setState(name, .unavailable, reason: shown.message)
            } else {
                logger.error(
                    "model reload failed; the loaded versions keep serving", metadata: ["model": "\(name)", "reason": "\(error.message)"])
            }
            throw shown
        }
    }

    private func performUnload(_ name: String) async throws(FerryError) {
        guard let entry = table.entry(name) else {
            _ = try repository.entry(named: name)  // unknown in the repository: say so
            return
        }
        table.publish(name, ServingTable.Entry(state: .unloading, reason: "", versions: [:]))
        for model in entry.versions.values { await model.executor.drain() }
        for version in entry.versions.keys { ModelStateMetric.set(model: name, version: String(version), ready: false) }
        table.publish(name, ServingTable.Entry(state: .unavailable, reason: Self.unloadedReason, versions: [:]))
        logger.info("model unloaded", metadata: ["model": "\(name)"])
    }

    /// One pass of poll mode: load new models, reload changed ones, unload removed ones.
    public func poll() async {
        let present = Set(repository.modelNames())
        for name in present.sorted() {
            do throws(FerryError) {
                try await load(name)
            } catch {
                logger.debug("poll: model not loaded", metadata: ["model": "\(name)", "reason": "\(error.message)"])
            }
        }
        for name in table.all.keys where !present.contains(name) && table.entry(name)?.reason != Self.unloadedReason {
            try? await unload(name)
        }
    }

    /// The repository's models, with the state of each loaded version.
    public func index(readyOnly: Bool = false) -> [ModelIndexEntry] {
        var entries: [ModelIndexEntry] = []
        let served = table.all
        for name in Set(repository.modelNames()).union(served.keys).sorted() {
            guard let entry = served[name] else {
                if !readyOnly { entries.append(ModelIndexEntry(name: name, version: nil, state: nil)) }
                continue
            }
            if entry.versions.isEmpty {
                if !readyOnly { entries.append(ModelIndexEntry(name: name, version: nil, state: entry.state, reason: entry.reason)) }
                continue
            }
            for version in entry.versions.keys.sorted() {
                entries.append(ModelIndexEntry(name: name, version: String(version), state: entry.state, reason: entry.reason))
            }
        }
        return entries
    }

    /// Stops every model: refuses new requests and waits for running ones.
    public func unloadAll() async {
        for name in table.all.keys.sorted() { try? await unload(name) }
    }

    private func loadVersion(
        name: String,
        version: Int64,
        file: String,
        configuration: ModelConfiguration,
        fingerprint: VersionFingerprint
    ) async throws(FerryError) -> LoadedModelVersion {
        let backend = backend
        let defaultMaxBatchSize = defaultMaxBatchSize
        let defaultBatching = defaultBatching
        let configured = configuration.instanceCount ?? defaultInstanceCount
        let cores = cores
        let logger = logger
        return try await BlockingWork.run("ferry load \(name)") { () throws(FerryError) -> LoadedModelVersion in
            // Whether the model batches is known once its signature is: the first
            // session is loaded before the number of instances is settled.
            let plan = Self.instancePlan(configured: configured, cores: cores)
            let first = try backend.loadModel(atPath: file, name: name, suggestedThreads: plan.threads)
            var completed = try configuration.completed(
                with: first.signature,
                defaultMaxBatchSize: defaultMaxBatchSize,
                defaultBatching: defaultBatching
            )
            let batching = completed.maxBatchSize > 0 && completed.dynamicBatching != nil
            let instances =
                backend.sharedThreads == nil
                ? plan.instances : Self.sharedPoolInstances(configured: configured, batching: batching, cores: cores)
            logger.info(
                "loading model",
                metadata: [
                    "model": "\(name)", "version": "\(version)", "file": "\(file)", "instances": "\(instances)",
                    "threads_per_instance": backend.sharedThreads.map { "shared pool of \($0)" } ?? "\(plan.threads)",
                    "dynamic_batching": "\(batching)", "cores": "\(cores)",
                ]
            )
            let sessions = try [first] + (1..<instances).map { _ throws(FerryError) in
                try backend.loadModel(atPath: file, name: name, suggestedThreads: plan.threads)
            }
            completed.instanceCount = instances
            return LoadedModelVersion(name: name, version: version, configuration: completed, sessions: sessions, fingerprint: fingerprint)
        }
    }

    /// How many instances a version gets and how many threads each may use
    /// inside an operator, so that together they do not oversubscribe the
    /// cores: unless configured, one instance per core up to 4 cores (small
    /// models run best single-threaded, several at once), then cores/2
    /// instances of 2 threads.
    package static func instancePlan(configured: Int?, cores: Int) -> (instances: Int, threads: Int) {
        let instances = configured ?? (cores <= 4 ? cores : cores / 2)
        return (max(1, instances), max(1, cores / max(1, instances)))
    }

    /// Instances of a model whose sessions share one pool of every core.
    /// Unless configured: a model that batches dynamically gets one instance
    /// per 8 cores, so concurrent requests become one execution that spreads
    /// over the pool, and a lone request spreads over it alone (ResNet-50 on
    /// 2 cores: 2 instances of 1 thread answered a lone request in 54 ms, one
    /// instance on the pool in 29 ms, as fast as a bare ONNX Runtime call on
    /// both cores, and kept the throughput of 8 concurrent ones). A model that
    /// does not batch keeps an instance per core (per 2 cores above 4), so
    /// its requests still run side by side; they share the pool's threads.
    package static func sharedPoolInstances(configured: Int?, batching: Bool, cores: Int) -> Int {
        if let configured { return max(1, configured) }
        return batching ? max(1, cores / 8) : instancePlan(configured: nil, cores: cores).instances
    }

    /// Old versions stop taking requests (they are no longer in the table) and
    /// are released once their running requests finish.
    private func retire(_ versions: some Sequence<LoadedModelVersion>) {
        for model in versions {
            ModelStateMetric.set(model: model.name, version: String(model.version), ready: false)
            Task { await model.executor.drain() }
        }
    }
}
