import FerryCore
import Synchronization

/// One version of a model, loaded and serving: its configuration, its
/// instances, and its statistics.
public final class LoadedModelVersion: Sendable {
    public let name: String
    public let version: Int64
    public let configuration: ModelConfiguration
    public let signature: ModelSignature
    public let metadata: ModelMetadata
    /// The inputs and outputs as clients send and receive them (configured
    /// dims, -1 for the batch dimension), which requests are validated against.
    let clientSignature: ModelSignature
    /// What the files were when this version loaded; poll mode compares.
    let fingerprint: VersionFingerprint
    let executor: ModelExecutor
    let statistics: StatisticsRecorder
    let metrics: ModelMetrics
    /// `useClock`'s value at the last request: the memory budget unloads the
    /// least recently used model first.
    private let lastUseTick = Atomic<UInt64>(0)
    private static let useClock = Atomic<UInt64>(0)

    init(
        name: String,
        version: Int64,
        configuration: ModelConfiguration,
        sessions: [any ModelSession],
        fingerprint: VersionFingerprint
    ) {
        self.name = name
        self.version = version
        self.configuration = configuration
        self.signature = sessions[0].signature
        self.clientSignature = ModelSignature(
            inputs: configuration.inputs.map { InferenceServer.clientSpec($0, config: configuration) },
            outputs: configuration.outputs.map { InferenceServer.clientSpec($0, config: configuration) }
        )
        self.metadata = sessions[0].metadata
        self.fingerprint = fingerprint
        let statistics = StatisticsRecorder(name: name, version: String(version))
        let metrics = ModelMetrics(model: name, version: String(version))
        self.statistics = statistics
        self.metrics = metrics
        self.executor = ModelExecutor(name: name, sessions: sessions, policy: SchedulingPolicy(configuration: configuration)) {
            rows, compute in
            statistics.recordExecution(batchSize: rows, compute: compute)
            metrics.recordExecution(batchSize: rows)
        }
    }
}

extension LoadedModelVersion {
    var lastUse: UInt64 { lastUseTick.load(ordering: .relaxed) }

    func markUsed() {
        lastUseTick.store(Self.useClock.add(1, ordering: .relaxed).newValue, ordering: .relaxed)
    }
}

/// The inputs that decide whether a loaded version is still current.
struct VersionFingerprint: Sendable, Hashable {
    var modelFile: FileFingerprint?
    var configText: String?
}
