import FerryCore
import FerryGPU
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
    /// `ferry serve --device`: where models without `instance_group` run (nil: the CPU).
    private let defaultGroup: ModelConfiguration.InstanceGroup?
    private let gpus: any GPUInventory
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
    /// `--model-memory-budget` in bytes: models load on their first request,
    /// and idle ones are unloaded, least recently used first, to make room.
    public nonisolated let memoryBudget: Int?
    /// Models loaded at start and never unloaded to make room (`--pin-model`).
    public nonisolated let pinnedModels: Set<String>
    /// Memory each loaded model took, measured around its load (`ProcessMemory.Usage`).
    private var residentBytes: [String: Int] = [:]
    /// What a model measured when it last loaded: the estimate for its next load.
    private var lastMeasured: [String: Int] = [:]
    /// With a budget, loads run one at a time: each sees what the one before
    /// it measured, and its own measurement is not mixed with another's.
    private var budgetedLoadRunning = false
    private var budgetedLoadWaiters: [CheckedContinuation<Void, Never>] = []
    private let lifecycle = ModelLifecycleMetrics()
    /// Models named at start whose files could not be had (an `oci://`
    /// artifact that did not pull), with the reason; listed UNAVAILABLE.
    private let missingModels: [String: String]
    /// How long a load waits for models in use to go idle before it gives up.
    private let roomWaitLimit: Duration

    public init(
        repository: ModelRepository,
        backend: any Backend,
        controlMode: ControlMode = .none,
        defaultInstanceCount: Int? = 1,
        defaultDevice: DeviceRequest = .cpu,
        gpus: any GPUInventory = CUDADriver.shared,
        defaultMaxBatchSize: Int = ModelConfiguration.defaultMaxBatchSize,
        defaultBatching: ModelConfiguration.DynamicBatching = .init(),
        cores: Int = AvailableCores.count,
        memoryBudget: Int? = nil,
        pinnedModels: Set<String> = [],
        roomWaitLimit: Duration = .seconds(60),
        unavailableModels: [String: String] = [:],
        logger: Logger = Logger(label: "ferry.models")
    ) {
        self.missingModels = unavailableModels
        self.memoryBudget = memoryBudget
        self.pinnedModels = pinnedModels
        self.roomWaitLimit = roomWaitLimit
        if let memoryBudget { lifecycle.recordBudget(memoryBudget) }
        self.defaultMaxBatchSize = defaultMaxBatchSize
        self.defaultBatching = defaultBatching
        self.cores = max(1, cores)
        self.repository = repository
        self.backend = backend
        self.controlMode = controlMode
        self.defaultInstanceCount = defaultInstanceCount.map { max(1, $0) }
        self.defaultGroup = defaultDevice.group
        self.gpus = gpus
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
        for (name, reason) in missingModels.sorted(by: { $0.key < $1.key }) where table.entry(name) == nil {
            table.setState(name, .unavailable, reason: reason)
        }
        let all = repository.modelNames()
        var selected: [String]
        if controlMode == .explicit {
            selected = names.contains("*") ? all : names
        } else if memoryBudget != nil {
            // The others load on their first request.
            selected = all.filter { pinnedModels.contains($0) }
        } else {
            selected = all
        }
        for name in pinnedModels.sorted() where !selected.contains(name) {
            if all.contains(name) {
                selected.append(name)
            } else {
                logger.warning("pinned model is not in the repository", metadata: ["model": "\(ModelName.escaped(name))"])
            }
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
    /// serves (Triton's strict readiness). With a memory budget, models
    /// loading on demand or unloaded to make room do not make the server
    /// unready: a request for one waits for it.
    public var isReady: Bool {
        initialLoadDone
            && table.all.values.allSatisfy { entry in
                switch entry.state {
                case .ready: true
                case .loading, .unloading: memoryBudget != nil
                case .unavailable: entry.reason == Self.unloadedReason || entry.reason == Self.evictedReason
                }
            }
    }

    static let unloadedReason = "unloaded"
    static let evictedReason = "unloaded to stay within the memory budget; the next request loads it again"

    /// Whether a request for `name` should wait for it to load rather than be
    /// refused: with a memory budget, a model not loaded yet (except in
    /// explicit mode, where the operator loads models), one unloaded to make
    /// room, or one loading or unloading now.
    public nonisolated func loadsOnDemand(_ name: String) -> Bool {
        guard memoryBudget != nil else { return false }
        guard let entry = table.entry(name) else {
            return controlMode != .explicit && repository.modelNames().contains(name)
        }
        switch entry.state {
        case .loading, .unloading: return true
        case .unavailable: return entry.reason == Self.evictedReason
        case .ready: return false
        }
    }

    /// Loads a model a request is waiting for (see `loadsOnDemand`); returns
    /// at once if it serves.
    public func loadOnDemand(_ name: String) async throws(FerryError) {
        if table.entry(name)?.state == .ready { return }
        try await load(name)
    }

    /// Bytes the loaded models take, as measured when each loaded.
    public var memoryUsed: Int { residentBytes.values.reduce(0, +) }

    /// Loads a model, or reloads it if its files changed. New versions are
    /// fully loaded before they replace the old ones; requests already running
    /// on an old version finish on it.
    public func load(_ name: String) async throws(FerryError) {
        try ModelName.validate(name)
        await acquire(name)
        defer { release(name) }
        if memoryBudget != nil { await acquireBudgetedLoad() }
        defer { if memoryBudget != nil { releaseBudgetedLoad() } }
        try await performLoad(name)
    }

    private func acquireBudgetedLoad() async {
        guard budgetedLoadRunning else {
            budgetedLoadRunning = true
            return
        }
        await withCheckedContinuation { budgetedLoadWaiters.append($0) }
    }

    private func releaseBudgetedLoad() {
        guard !budgetedLoadWaiters.isEmpty else {
            budgetedLoadRunning = false
            return
        }
        budgetedLoadWaiters.removeFirst().resume()
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

            let toLoad = selected.filter { serving[$0] == nil || serving[$0]?.fingerprint != fingerprints[$0] }
            if let memoryBudget, !toLoad.isEmpty {
                // Before the first load only the files say how large a model is.
                let estimate = lastMeasured[name] ?? toLoad.reduce(0) { $0 + Int(fingerprints[$1]?.modelFile?.size ?? 0) }
                try await makeRoom(for: name, needed: estimate, budget: memoryBudget)
            }
            let loadStarted = ContinuousClock.now
            var loaded: [Int64: LoadedModelVersion] = [:]
            var failures: [String] = []
            for version in selected {
                if let current = serving[version], current.fingerprint == fingerprints[version] {
                    loaded[version] = current
                    continue
                }
                let file = entry.modelFile(version: version, defaultFilename: configuration.defaultModelFilename)!
                do throws(FerryError) {
                    // Freed pages go back first, so that the load's growth is its own.
                    ProcessMemory.releaseFreeMemory()
                    let before = ProcessMemory.Usage.now
                    let model = try await loadVersion(
                        name: name, version: version, file: file, configuration: configuration, fingerprint: fingerprints[version]!,
                        modelDirectory: entry.directory
                    )
                    // What the load freed (the file's bytes once parsed) is handed back before measuring what it kept.
                    ProcessMemory.releaseFreeMemory()
                    if let bytes = ProcessMemory.Usage.now.growth(since: before) { model.statistics.recordMemory(bytes) }
                    loaded[version] = model
                } catch {
                    failures.append(error.message)
                }
            }
            guard !loaded.isEmpty else {
                failedAttempts[name] = fingerprints
                throw FerryError(.failedPrecondition, failures.joined(separator: "; "))
            }
            failedAttempts[name] = nil
            if !toLoad.isEmpty { lifecycle.recordLoad(model: name, duration: ContinuousClock.now - loadStarted) }
            // A model just loaded counts as just used: it is not the first to make room for the next.
            for model in loaded.values where !serving.values.contains(where: { $0 === model }) { model.markUsed() }
            let replaced = table.publish(
                name, ServingTable.Entry(state: .ready, reason: failures.joined(separator: "; "), versions: loaded))
            // Retire first, so a reloaded version number ends with its gauge at 1.
            retire((replaced?.versions ?? [:]).values.filter { old in !loaded.values.contains { $0 === old } })
            for (version, model) in loaded where serving[version] !== model {
                ModelStateMetric.set(model: name, version: String(version), ready: true)
                let stats = model.statistics.snapshot
                var metadata: Logger.Metadata = [
                    "model": "\(name)", "version": "\(version)", "instances": "\(model.executor.instanceCount)",
                    "resident_bytes": "\(stats.memoryBytes ?? 0)",
                ]
                if stats.warmup.count > 0 {
                    metadata["warmup_runs"] = "\(stats.warmup.count)"
                    metadata["warmup_ms"] = "\(stats.warmup.nanoseconds / 1_000_000)"
                }
                logger.info("model version ready", metadata: metadata)
            }
            let measured = loaded.values.reduce(0) { $0 + ($1.statistics.snapshot.memoryBytes ?? 0) }
            residentBytes[name] = measured
            lastMeasured[name] = measured
            lifecycle.recordResident(model: name, bytes: measured, used: memoryUsed)
            if let memoryBudget, !toLoad.isEmpty { try await keepWithinBudget(after: name, budget: memoryBudget) }
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
        guard table.entry(name) != nil else {
            _ = try repository.entry(named: name)  // unknown in the repository: say so
            return
        }
        // No variable here keeps the versions alive once `stop` has drained them.
        let retired = Retired(table.publish(name, ServingTable.Entry(state: .unloading, reason: "", versions: [:])))
        await Self.stop(retired)
        table.publish(name, ServingTable.Entry(state: .unavailable, reason: Self.unloadedReason, versions: [:]))
        residentBytes[name] = nil
        lifecycle.recordResident(model: name, bytes: 0, used: memoryUsed)
        logger.info("model unloaded", metadata: ["model": "\(name)"])
    }

    /// Versions taken out of the table, held only here until `stop` releases
    /// them: a local variable of the caller would keep their sessions (and
    /// the memory to give back) alive past the release.
    private final class Retired: @unchecked Sendable {
        var versions: [LoadedModelVersion]

        init(_ versions: [LoadedModelVersion]) {
            self.versions = versions
            for model in versions { ModelStateMetric.set(model: model.name, version: String(model.version), ready: false) }
        }

        convenience init(_ entry: ServingTable.Entry?) { self.init(Array((entry?.versions ?? [:]).values)) }
    }

    /// Lets the versions' running requests finish, releases them, and hands
    /// the memory they freed back to the system.
    private static func stop(_ retired: Retired) async {
        var released: [WeakExecutor] = []
        while let model = retired.versions.popLast() {
            await model.executor.drain()
            let executor = model.executor
            _ = try? await BlockingWork.run("ferry join \(model.name)") { executor.joinThreads() }
            released.append(WeakExecutor(executor))
        }
        // The sessions go with their executor, whose last references (its
        // instance threads' closures, the join's) end moments after the
        // drain: a trim before that finds the memory still in use (an evicted
        // model's 33 MB stayed resident, and the next load measured 4 KB).
        let deadline = ContinuousClock.now + .seconds(2)
        while released.contains(where: { $0.executor != nil }) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(1))
        }
        ProcessMemory.releaseFreeMemory()
    }

    private struct WeakExecutor {
        weak var executor: ModelExecutor?

        init(_ executor: ModelExecutor) { self.executor = executor }
    }

    // MARK: Memory budget

    /// The loaded models as the budget sees them; `loading` (whose old
    /// versions may still serve) counts as busy.
    private func residents(loading: String) -> [MemoryBudget.Resident] {
        residentBytes.map { name, bytes in
            let versions = table.entry(name)?.versions.values.map { $0 } ?? []
            return MemoryBudget.Resident(
                name: name, bytes: bytes, lastUse: versions.map { $0.lastUse }.max() ?? 0,
                busy: name == loading || busy[name] != nil || versions.contains { $0.executor.pending > 0 },
                pinned: pinnedModels.contains(name))
        }
    }

    /// Unloads idle models, least recently used first, until `needed` more
    /// bytes fit; waits (up to `roomWaitLimit`) while models in use hold the room.
    private func makeRoom(for name: String, needed: Int, budget: Int) async throws(FerryError) {
        let deadline = ContinuousClock.now + roomWaitLimit
        while true {
            switch MemoryBudget(bytes: budget).decide(needed: needed, residents: residents(loading: name)) {
            case .evict(let victims):
                guard !victims.isEmpty else { return }
                for victim in victims { await evict(victim, for: name) }
            case .wait(let inUse):
                guard ContinuousClock.now < deadline else {
                    throw FerryError(
                        .unavailable,
                        "model '\(name)' (about \(Self.megabytes(needed))) does not fit in the memory budget of \(Self.megabytes(budget)) while models in use hold it (\(inUse.joined(separator: ", "))); try again"
                    )
                }
                try? await Task.sleep(for: .milliseconds(5))
            case .impossible(let fixed):
                throw FerryError(
                    .unavailable,
                    "model '\(name)' (about \(Self.megabytes(needed))) cannot fit in the memory budget of \(Self.megabytes(budget))\(fixed > 0 ? " beside the pinned models (\(Self.megabytes(fixed)))" : "")"
                )
            }
        }
    }

    /// After a load measured more than its estimate: unloads idle models
    /// until the budget holds again. A model that alone takes more than the
    /// budget leaves (pinned models aside) is unloaded again, with the reason.
    private func keepWithinBudget(after name: String, budget: Int) async throws(FerryError) {
        let bytes = residentBytes[name] ?? 0
        let pinned = residentBytes.filter { $0.key != name && pinnedModels.contains($0.key) }.values.reduce(0, +)
        if bytes + pinned > budget && !pinnedModels.contains(name) {
            try await performUnload(name)
            let reason =
                "model '\(name)' takes \(Self.megabytes(bytes)) once loaded, more than the memory budget of \(Self.megabytes(budget)) leaves it"
            table.setState(name, .unavailable, reason: reason)
            logger.error("model unloaded: it does not fit in the memory budget", metadata: ["model": "\(name)", "bytes": "\(bytes)"])
            throw FerryError(.unavailable, reason)
        }
        guard memoryUsed > budget else { return }
        if case .evict(let victims) = MemoryBudget(bytes: budget).decide(needed: 0, residents: residents(loading: name)) {
            for victim in victims { await evict(victim, for: name) }
        }
        if memoryUsed > budget {
            logger.warning(
                "memory budget exceeded until models in use go idle", metadata: ["used_bytes": "\(memoryUsed)", "budget_bytes": "\(budget)"])
        }
    }

    /// Unloads an idle model to make room for `loading`; one that took a
    /// request since it was chosen stays.
    private func evict(_ victim: String, for loading: String) async {
        guard busy[victim] == nil, table.entry(victim).map(Self.isIdle) == true else { return }
        await acquire(victim)
        defer { release(victim) }
        let retired = Retired(table.publish(victim, ServingTable.Entry(state: .unloading, reason: Self.evictedReason, versions: [:])))
        await Self.stop(retired)
        table.publish(victim, ServingTable.Entry(state: .unavailable, reason: Self.evictedReason, versions: [:]))
        let bytes = residentBytes.removeValue(forKey: victim) ?? 0
        lifecycle.recordEviction(model: victim, used: memoryUsed)
        logger.info(
            "model unloaded to make room", metadata: ["model": "\(victim)", "for": "\(loading)", "freed_bytes": "\(bytes)"])
    }

    private static func isIdle(_ entry: ServingTable.Entry) -> Bool {
        entry.state == .ready && entry.versions.values.allSatisfy { $0.executor.pending == 0 }
    }

    static func megabytes(_ bytes: Int) -> String {
        let tenths = (bytes + 52_428) / 104_858
        return "\(tenths / 10).\(tenths % 10) MB"
    }

    /// One pass of poll mode: load new models, reload changed ones, unload removed ones.
    public func poll() async {
        let present = Set(repository.modelNames())
        // With a budget, a scan reloads what is loaded; the rest loads when asked for.
        for name in present.sorted() where memoryBudget == nil || table.entry(name)?.state == .ready {
            do throws(FerryError) {
                try await load(name)
            } catch {
                logger.debug("poll: model not loaded", metadata: ["model": "\(name)", "reason": "\(error.message)"])
            }
        }
        for name in table.all.keys
        where !present.contains(name) && table.entry(name)?.reason != Self.unloadedReason && missingModels[name] == nil {
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
        fingerprint: VersionFingerprint,
        modelDirectory: String?
    ) async throws(FerryError) -> LoadedModelVersion {
        let layout = try InstanceLayout.resolve(configuration, defaultGroup: defaultGroup, inventory: gpus, backend: backend)
        for accelerator in configuration.cpuAccelerators {
            logger.warning(
                "cpu_execution_accelerator ignored: CPU instances run ONNX Runtime's own CPU kernels",
                metadata: ["model": "\(name)", "accelerator": "\(accelerator.name)"])
        }
        if let reason = layout.fallbackReason {
            logger.info("KIND_AUTO instances run on the CPU", metadata: ["model": "\(name)", "reason": "\(reason)"])
        }
        func load(_ layout: InstanceLayout) async throws(FerryError) -> LoadedModelVersion {
            try await loadInstances(
                layout, name: name, version: version, file: file, configuration: configuration, fingerprint: fingerprint,
                modelDirectory: modelDirectory)
        }
        do throws(FerryError) {
            return try await load(layout)
        } catch {
            // KIND_AUTO means "a GPU if it works": one that does not (a provider
            // library that fails to load, a device out of memory) leaves the CPU.
            guard layout.autoOnGPU else { throw error }
            logger.notice("KIND_AUTO instances run on the CPU", metadata: ["model": "\(name)", "reason": "\(error.message)"])
            let fallback = try InstanceLayout.resolve(
                configuration, defaultGroup: defaultGroup, inventory: gpus, backend: backend, autoOnCPU: true)
            return try await load(fallback)
        }
    }

    private func loadInstances(
        _ layout: InstanceLayout,
        name: String,
        version: Int64,
        file: String,
        configuration: ModelConfiguration,
        fingerprint: VersionFingerprint,
        modelDirectory: String?
    ) async throws(FerryError) -> LoadedModelVersion {
        let backend = backend
        let defaultMaxBatchSize = defaultMaxBatchSize
        let defaultBatching = defaultBatching
        let cores = cores
        let logger = logger
        let configured = layout.cpuCount ?? defaultInstanceCount
        return try await BlockingWork.run("ferry load \(name)") { () throws(FerryError) -> LoadedModelVersion in
            // Whether the model batches is known once its signature is: the first
            // session is loaded before the number of CPU instances is settled.
            let plan = Self.instancePlan(configured: configured, cores: cores)
            func load(_ placement: InstancePlacement) throws(FerryError) -> any ModelSession {
                try backend.loadModel(atPath: file, name: name, suggestedThreads: plan.threads, placement: placement)
            }
            let first = try load(layout.gpuInstances.first ?? .cpu)
            var completed = try configuration.completed(
                with: first.signature,
                defaultMaxBatchSize: defaultMaxBatchSize,
                defaultBatching: defaultBatching
            )
            let batching = completed.maxBatchSize > 0 && completed.dynamicBatching != nil
            let cpuInstances =
                !layout.hasCPU
                ? 0
                : backend.sharedThreads == nil
                    ? plan.instances : Self.sharedPoolInstances(configured: configured, batching: batching, cores: cores)
            let placements = layout.gpuInstances + Array(repeating: InstancePlacement.cpu, count: cpuInstances)
            logger.info(
                "loading model",
                metadata: [
                    "model": "\(name)", "version": "\(version)", "file": "\(file)", "instances": "\(placements.count)",
                    "devices": "\(Self.deviceSummary(placements))",
                    "threads_per_instance": backend.sharedThreads.map { "shared pool of \($0)" } ?? "\(plan.threads)",
                    "dynamic_batching": "\(batching)", "cores": "\(cores)",
                ]
            )
            let sessions = try [first] + placements.dropFirst().map { placement throws(FerryError) in try load(placement) }
            completed.instanceCount = placements.count
            let cpuGroups = layout.groups.filter { $0.kind == .cpu }.count
            completed.instanceGroups = layout.groups.map { group in
                var group = group
                if group.kind == .cpu && group.count == 0 && cpuGroups == 1 { group.count = cpuInstances }
                return group
            }
            let warmup = try WarmupRunner.run(completed, on: sessions, modelDirectory: modelDirectory)
            let model = LoadedModelVersion(name: name, version: version, configuration: completed, sessions: sessions, fingerprint: fingerprint)
            model.statistics.recordWarmup(warmup)
            return model
        }
    }

    /// `cuda:0 ×2, cpu ×1`: where a version's instances run, for the log.
    static func deviceSummary(_ placements: [InstancePlacement]) -> String {
        var counts: [(InstancePlacement, Int)] = []
        for placement in placements {
            if let index = counts.firstIndex(where: { $0.0 == placement }) { counts[index].1 += 1 } else { counts.append((placement, 1)) }
        }
        return counts.map { "\($0.0) ×\($0.1)" }.joined(separator: ", ")
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
        let retired = Retired(Array(versions))
        Task { await Self.stop(retired) }
    }
}
