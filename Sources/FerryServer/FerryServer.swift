import FerryCore
import FerryGRPC
import FerryHTTP
import FerryImage
import FerryJobs
import FerrySecurity
import FerryTelemetry
import FerryServing
import FerryGPU
import Logging
import Prometheus
import ServiceLifecycle
import UnixSignals

/// What `ferry serve` is asked to run: the repository, where to listen, and
/// the defaults for models without a config.
public struct ServeConfiguration: Sendable {
    /// Model repositories, .onnx files and `oci://` model artifacts, served as one.
    public var repositories: [String]
    public var host = "127.0.0.1"
    /// 0 picks a free port (reported through `onListening`).
    public var ports = ServerPorts()
    public var modelControlMode: ModelManager.ControlMode = .none
    public var loadModels: [String] = []
    public var pollInterval: Duration = .seconds(15)
    /// How long requests in flight get after a graceful shutdown begins.
    public var drainTimeout: Duration = .seconds(30)
    public var maxRequestBytes = 64 << 20
    /// Timeouts and the connection cap; a cap of nil follows the open-file
    /// limit (raised to its hard limit at start).
    public var connections = ConnectionPolicy()
    public var maximumConnections: Int?
    /// Instances per version without `instance_group` (nil: from the cores).
    public var instances: Int?
    /// Where models without `instance_group` run (`--device`).
    public var device = DeviceRequest.cpu
    public var defaultMaxBatchSize = ModelConfiguration.defaultMaxBatchSize
    public var defaultBatching = ModelConfiguration.DynamicBatching()
    public var jobs = JobsConfiguration()
    /// HTTPS and gRPC over TLS (nil: plain).
    public var tls: TLSSettings?
    public var access = AccessSettings()
    /// One log line per request (`ferry.access`).
    public var accessLog = true
    /// Whether logs are JSON lines (the access log then writes its own, faster).
    public var logsJSON = false
    /// Where OpenTelemetry traces go (OTLP/HTTP); nil: no traces.
    public var otelEndpoint: String?

    /// Loaded models may take this many bytes (measured); nil: no budget, every model loads at start.
    public var memoryBudget: Int?
    public var pinnedModels: Set<String> = []
    /// Where `oci://` model artifacts are pulled to and kept across restarts.
    public var modelCache = ModelCacheSettings()

    public init(repository: String) { self.repositories = [repository] }

    public init(repositories: [String]) { self.repositories = repositories }
}

/// The whole server `ferry serve` runs — models, async jobs, the HTTP, gRPC
/// and metrics endpoints — assembled in one place, so the command only parses
/// arguments and tests run the very same server.
public struct FerryServer: Sendable {
    public enum Endpoint: String, Sendable {
        case http = "HTTP/REST"
        case grpc = "gRPC"
        case metrics
    }

    public let inference: InferenceServer
    let services: ServiceGroup
    let accessLog: AccessLog

    /// Runs until a graceful shutdown (`stop()`, or SIGTERM/SIGINT when built
    /// with `stopsOnSignals`) has stopped every service in order.
    public func run() async throws {
        defer { accessLog.flush() }
        try await services.run()
    }

    /// Begins a graceful shutdown: endpoints drain, jobs finish, models unload.
    public func stop() async {
        await services.triggerGracefulShutdown()
    }

    /// Builds the server. Endpoints log "<endpoint> listening" with their
    /// address and call `onListening` with the bound port.
    private static func describe(_ access: AccessSettings) -> String {
        let sources = [
            access.apiKeysFile.map { "API keys from \($0)" },
            access.jwt.map { "JWTs from \($0.issuer) for \($0.audience), keys in \($0.keySetFile)" },
        ].compactMap { $0 }
        return sources.isEmpty ? "off" : sources.joined(separator: "; ")
    }

    public static func build(
        _ configuration: ServeConfiguration,
        backend: any Backend,
        registry: PrometheusCollectorRegistry,
        stopsOnSignals: Bool = false,
        logger: Logger = Logger(label: "ferry"),
        onListening: @escaping @Sendable (Endpoint, Int) -> Void = { _, _ in }
    ) async throws -> FerryServer {
        let host = configuration.host
        let openFiles = OpenFileLimit.raiseToHardLimit()
        var policy = configuration.connections
        policy.maximumConnections = configuration.maximumConnections ?? OpenFileLimit.connections(forOpenFiles: openFiles.now)
        logger.info(
            "connections", metadata: ["open_file_limit": "\(openFiles.now)", "raised_from": "\(openFiles.before)",
            "max_connections": "\(policy.maximumConnections)"])
        let connectionCount = ConnectionCount(maximum: policy.maximumConnections)
        let securityLogger = Logger(label: "ferry.security")
        let access = try AccessControl(configuration.access, logger: securityLogger)
        let tls = try configuration.tls.map { settings throws(FerryError) in
            (
                http: try ServerTLS(settings, applicationProtocols: ["h2", "http/1.1"], logger: securityLogger),
                grpc: try ServerTLS(settings, applicationProtocols: ["h2"], logger: securityLogger),
                metrics: settings.securesMetrics
                    ? try ServerTLS(settings, applicationProtocols: ["http/1.1"], logger: securityLogger) : nil
            )
        }
        let accessLog = AccessLog(enabled: configuration.accessLog, json: configuration.logsJSON)
        let tracing = try configuration.otelEndpoint.map { endpoint throws(FerryError) in
            try RequestTracing(endpoint: endpoint, serviceVersion: InferenceServer.version, logger: Logger(label: "ferry.traces"))
        }
        if let endpoint = configuration.otelEndpoint { logger.info("traces", metadata: ["otlp_http_endpoint": "\(endpoint)"]) }
        logger.info(
            "security",
            metadata: [
                "tls": "\(configuration.tls.map { "on (client certificates: \($0.clientAuthentication.rawValue))" } ?? "off")",
                "authentication": "\(Self.describe(configuration.access))",
                "rate_limit": "\(access.authenticates ? "\(configuration.access.rateLimit ?? AccessSettings.defaultRateLimit) per credential" : configuration.access.rateLimit.map { "\($0) per client address" } ?? "none")",
            ])
        let listening: @Sendable (Endpoint, Int, Logger.Metadata) -> Void = { endpoint, port, extra in
            logger.info("\(endpoint.rawValue) listening", metadata: ["address": "\(host):\(port)"].merging(extra) { $1 })
            onListening(endpoint, port)
        }
        let paths = try await ModelSources.resolve(configuration.repositories, cache: configuration.modelCache, logger: logger)
        if let budget = configuration.memoryBudget {
            logger.info(
                "memory budget", metadata: ["budget_bytes": "\(budget)", "pinned": "\(configuration.pinnedModels.sorted().joined(separator: ","))"])
        }
        let manager = ModelManager(
            repository: try ModelRepository(paths: paths.paths),
            backend: backend,
            controlMode: configuration.modelControlMode,
            defaultInstanceCount: configuration.instances,
            defaultDevice: configuration.device,
            defaultMaxBatchSize: configuration.defaultMaxBatchSize,
            defaultBatching: configuration.defaultBatching,
            memoryBudget: configuration.memoryBudget,
            pinnedModels: configuration.pinnedModels,
            unavailableModels: paths.failures,
            logger: Logger(label: "ferry.models")
        )
        let server = InferenceServer(manager: manager)
        let jobs = JobService(
            store: try await configuration.jobs.openStore(logger: Logger(label: "ferry.jobs")),
            server: server,
            configuration: configuration.jobs,
            logger: Logger(label: "ferry.jobs")
        )
        let http = buildHTTPApplication(
            server: server,
            jobs: jobs,
            configuration: HTTPServerConfiguration(
                host: host, port: configuration.ports.http, maxRequestBytes: configuration.maxRequestBytes, connections: policy,
                connectionCount: connectionCount, tls: tls?.http, access: access, accessLog: accessLog, tracing: tracing),
            logger: Logger(label: "ferry.http")
        ) { port in listening(.http, port, [:]) }
        let grpc = GRPCServerService(
            server: server, host: host, port: configuration.ports.grpc, maxRequestBytes: configuration.maxRequestBytes,
            connections: policy, connectionCount: connectionCount, tls: tls?.grpc, access: access, accessLog: accessLog,
            tracing: tracing, logger: Logger(label: "ferry.grpc")
        ) { port in listening(.grpc, port, [:]) }
        let metrics = buildMetricsApplication(
            registry: registry, host: host, port: configuration.ports.metrics, logger: Logger(label: "ferry.metrics"),
            connections: policy, connectionCount: connectionCount, tls: tls?.metrics, access: access, accessLog: accessLog,
            pendingRequests: { server.pendingRequestsByVersion() },
            gpuSamples: { NVML.shared.sample() }
        ) { port in listening(.metrics, port, ["path": "/metrics"]) }
        let models = ModelService(
            server: server, initialModels: configuration.loadModels, pollInterval: configuration.pollInterval)
        // Services stop in reverse order: endpoints drain first, then running jobs finish, then models unload.
        // The trace exporter is first, so it stops last and sends the spans of the last requests.
        let exporter: [ServiceGroupConfiguration.ServiceConfiguration] = tracing.map { [.init(service: $0)] } ?? []
        var group = ServiceGroupConfiguration(
            services: exporter + [
                .init(service: models), .init(service: jobs), .init(service: metrics), .init(service: grpc), .init(service: http),
            ],
            gracefulShutdownSignals: stopsOnSignals ? [UnixSignal.sigterm, .sigint] : [],
            logger: logger
        )
        group.maximumGracefulShutdownDuration = configuration.drainTimeout
        return FerryServer(inference: server, services: ServiceGroup(configuration: group), accessLog: accessLog)
    }
}
