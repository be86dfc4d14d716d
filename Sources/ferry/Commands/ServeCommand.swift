import ArgumentParser
import FerryCore
import FerryHTTP
import FerryImage
import FerryServer
import FerryServing
import Logging
import Metrics
import Prometheus

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model repository over the Open Inference Protocol (KServe v2).",
        discussion: """
            REPOSITORY is a Triton-layout model repository (NAME/config.pbtxt optional, \
            NAME/VERSION/model.onnx), a single .onnx file, a model artifact oci://REGISTRY/NS/NAME:TAG|@DIGEST \
            (pushed with ferry push-model; pulled into --model-cache), or a .yaml file listing them under models:. \
            Several are served as one. HTTP/REST on --http-port, gRPC on --grpc-port, \
            Prometheus metrics on --metrics-port (0 picks a free port and logs it). \
            Every option can also be set as FERRY_<OPTION> (e.g. FERRY_HTTP_PORT).
            """
    )

    @Argument(help: ArgumentHelp("Model repositories, .onnx files, oci:// model artifacts or .yaml lists of them.", valueName: "repository"))
    var repositories: [String]

    @Option(help: "Address to listen on (0.0.0.0 for every interface).")
    var host = Environment.string("FERRY_HOST") ?? "127.0.0.1"

    @Option(help: "HTTP/REST port.")
    var httpPort = Environment.int("FERRY_HTTP_PORT") ?? 8000

    @Option(help: "gRPC port.")
    var grpcPort = Environment.int("FERRY_GRPC_PORT") ?? 8001

    @Option(help: "Prometheus metrics port.")
    var metricsPort = Environment.int("FERRY_METRICS_PORT") ?? 8002

    @Option(
        help: ArgumentHelp(
            "none: load all at start; explicit: load/unload through the API; poll: follow the repository.", valueName: "mode"))
    var modelControlMode = Environment.string("FERRY_MODEL_CONTROL_MODE").flatMap(ModelManager.ControlMode.init(rawValue:)) ?? .none

    @Option(
        name: .customLong("load-model"),
        help: ArgumentHelp("In explicit mode, a model to load at start (repeatable; * for all).", valueName: "name"))
    var loadModels: [String] = Environment.list("FERRY_LOAD_MODEL")

    @Option(help: "Seconds between repository scans in poll mode.")
    var repositoryPollSecs = Environment.int("FERRY_REPOSITORY_POLL_SECS") ?? 15

    @Option(help: "Seconds to let in-flight requests finish after SIGTERM/SIGINT.")
    var drainTimeout = Environment.int("FERRY_DRAIN_TIMEOUT") ?? 30

    @Option(help: "Largest request body accepted, in bytes (larger ones get 413).")
    var maxRequestBytes = Environment.int("FERRY_MAX_REQUEST_BYTES") ?? 64 << 20

    @Option(
        name: .customLong("max-connections"),
        help: "Open connections kept across HTTP, gRPC and metrics; more are refused (default: from the open-file limit).")
    var maxConnectionsOption: Int?

    var maxConnections: Int? { maxConnectionsOption ?? Environment.int("FERRY_MAX_CONNECTIONS") }

    @Option(help: "Seconds a connection may stay open with no request in progress.")
    var idleTimeout = Environment.int("FERRY_IDLE_TIMEOUT") ?? 75

    @Option(help: "Seconds from a request's first byte to the end of its headers (an HTTP/2 client's preface and settings).")
    var headerTimeout = Environment.int("FERRY_HEADER_TIMEOUT") ?? 30

    @Option(help: "Longest pause, in seconds, between two reads of a request body.")
    var bodyTimeout = Environment.int("FERRY_BODY_TIMEOUT") ?? 30

    @Option(
        name: .customLong("instances"),
        help:
            "Instances (sessions, each on its own thread) per model version without instance_group in its config (default: chosen from the cores and logged)."
    )
    var instancesOption: Int?

    var instances: Int? { instancesOption ?? Environment.int("FERRY_INSTANCES") }

    @Option(
        help: ArgumentHelp(
            "Where models without instance_group in their config run: cpu, cuda (one instance on every GPU), cuda:N, or auto (the GPUs if there are any, else the CPU).",
            valueName: "device"))
    var device = Environment.string("FERRY_DEVICE") ?? "cpu"

    @Option(help: "For models without a config.pbtxt: how long (µs) the first request of a batch may wait for more.")
    var maxQueueDelayUs = Environment.int("FERRY_MAX_QUEUE_DELAY_US") ?? 0

    @Option(name: .customLong("preferred-batch-size"), help: "For models without a config.pbtxt: a preferred batch size (repeatable).")
    var preferredBatchSizes: [Int] = Environment.list("FERRY_PREFERRED_BATCH_SIZE").compactMap { Int($0) }

    @Option(help: "For models without a config.pbtxt: requests that may wait; more get 503 (0: no bound).")
    var maxQueueSize = Environment.int("FERRY_MAX_QUEUE_SIZE") ?? 0

    @Option(
        help:
            "For models without a config.pbtxt: how long (µs) a request may wait before it gets 504 (0: no limit; a request's 'timeout' parameter overrides it)."
    )
    var defaultTimeoutUs = Environment.int("FERRY_DEFAULT_TIMEOUT_US") ?? 0

    @Option(
        help:
            "max_batch_size given to models without a config.pbtxt whose inputs and outputs all have a dynamic first dimension (0: no batching)."
    )
    var defaultMaxBatchSize = Environment.int("FERRY_DEFAULT_MAX_BATCH_SIZE") ?? ModelConfiguration.defaultMaxBatchSize

    @Option(
        name: .customLong("model-memory-budget"),
        help: ArgumentHelp(
            "Memory the loaded models may take (e.g. 2GiB): models load on their first request, and idle ones are unloaded, least recently used first, to make room.",
            valueName: "size"))
    var memoryBudgetOption: String?

    var memoryBudget: String? { memoryBudgetOption ?? Environment.string("FERRY_MODEL_MEMORY_BUDGET") }

    @Option(name: .customLong("pin-model"), help: ArgumentHelp("With a memory budget: a model loaded at start and never unloaded to make room (repeatable).", valueName: "name"))
    var pinnedModels: [String] = Environment.list("FERRY_PIN_MODEL")

    @Option(
        name: .customLong("model-cache"),
        help: ArgumentHelp("Where oci:// model artifacts are pulled and kept (default: $XDG_CACHE_HOME/ferry/models or ~/.cache/ferry/models).", valueName: "dir"))
    var modelCacheOption: String?

    var modelCache: String? { modelCacheOption ?? Environment.string("FERRY_MODEL_CACHE") }

    @Flag(name: .customLong("insecure-registry"), help: "Pull oci:// model artifacts over plain HTTP from registries not on loopback.")
    var insecureRegistry = Environment.string("FERRY_INSECURE_REGISTRY") == "1"

    @Option(
        name: .customLong("malloc-arenas"),
        help: ArgumentHelp(
            "malloc arenas (default: one per core, at least 2; 0: glibc's 8 per core). Few arenas let memory freed by an unloaded model be reused and returned.",
            valueName: "count"))
    var mallocArenasOption: Int?

    var mallocArenas: Int { mallocArenasOption ?? Environment.int("FERRY_MALLOC_ARENAS") ?? max(2, AvailableCores.count) }

    @Flag(inversion: .prefixedNo, help: "One log line per request (logger ferry.access), with its id, route, model, status, duration and bytes.")
    var accessLog = Environment.string("FERRY_ACCESS_LOG") != "0"

    @Option(
        name: .customLong("otel-endpoint"),
        help: ArgumentHelp(
            "Export a trace span per request (with decode, queue, compute and encode) to this OTLP/HTTP collector, e.g. http://collector:4318.",
            valueName: "url"))
    var otelEndpointOption: String?

    var otelEndpoint: String? { otelEndpointOption ?? Environment.string("FERRY_OTEL_ENDPOINT") }

    @Option(help: ArgumentHelp("Log format: text, json, or auto (text on a terminal, JSON lines otherwise).", valueName: "format"))
    var logFormat = Environment.string("FERRY_LOG_FORMAT") ?? "auto"

    @OptionGroup(title: "Async jobs") var jobOptions: JobOptions

    @OptionGroup(title: "TLS, authentication and rate limits") var security: SecurityOptions

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        for (name, port) in [("--http-port", httpPort), ("--grpc-port", grpcPort), ("--metrics-port", metricsPort)]
        where !(0...65535).contains(port) {
            throw ValidationError("\(name) must be 0...65535, not \(port)")
        }
        guard repositoryPollSecs >= 1 else { throw ValidationError("--repository-poll-secs must be at least 1") }
        guard drainTimeout >= 0 else { throw ValidationError("--drain-timeout must be 0 or more") }
        guard maxRequestBytes >= 1 else { throw ValidationError("--max-request-bytes must be at least 1") }
        guard (maxConnections ?? 1) >= 1 else { throw ValidationError("--max-connections must be at least 1") }
        guard idleTimeout >= 1, headerTimeout >= 1, bodyTimeout >= 1 else {
            throw ValidationError("--idle-timeout, --header-timeout and --body-timeout must be at least 1 second")
        }
        guard defaultMaxBatchSize >= 0 else { throw ValidationError("--default-max-batch-size must be 0 or more") }
        guard (instances ?? 1) >= 1 else { throw ValidationError("--instances must be at least 1") }
        guard DeviceRequest(parsing: device) != nil else { throw ValidationError("--device must be cpu, auto, cuda or cuda:N, not '\(device)'") }
        guard maxQueueDelayUs >= 0, maxQueueSize >= 0, defaultTimeoutUs >= 0 else {
            throw ValidationError("--max-queue-delay-us, --max-queue-size and --default-timeout-us must be 0 or more")
        }
        guard preferredBatchSizes.allSatisfy({ $0 >= 1 && $0 <= max(defaultMaxBatchSize, 1) }) else {
            throw ValidationError("--preferred-batch-size must be 1…--default-max-batch-size (\(defaultMaxBatchSize))")
        }
        guard ["auto", "text", "json"].contains(logFormat) else { throw ValidationError("--log-format must be auto, text or json") }
        guard !repositories.isEmpty else { throw ValidationError("give at least one model repository, .onnx file or oci:// model") }
        guard mallocArenas >= 0 else { throw ValidationError("--malloc-arenas must be 0 or more") }
        if let memoryBudget {
            do { _ = try ByteCount.parse(memoryBudget) } catch { throw ValidationError("--model-memory-budget: \(error.message)") }
        }
        if !pinnedModels.isEmpty && memoryBudget == nil { throw ValidationError("--pin-model needs --model-memory-budget") }
    }

    /// `dynamic_batching` for models completed without a config.pbtxt.
    var defaultBatching: ModelConfiguration.DynamicBatching {
        var batching = ModelConfiguration.DynamicBatching()
        batching.maxQueueDelayMicroseconds = UInt64(maxQueueDelayUs)
        batching.preferredBatchSizes = preferredBatchSizes
        batching.defaultQueuePolicy.maxQueueSize = UInt32(clamping: maxQueueSize)
        batching.defaultQueuePolicy.defaultTimeoutMicroseconds = UInt64(defaultTimeoutUs)
        batching.defaultQueuePolicy.allowTimeoutOverride = true
        return batching
    }

    func run() async throws {
        // Before any thread is started: threads made later get arenas under the cap.
        if mallocArenas > 0 { ProcessMemory.limitAllocatorArenas(mallocArenas) }
        let json = logFormat == "json" || (logFormat == "auto" && !StandardStreams.errorIsTerminal)
        LoggingSystem.bootstrap { label in
            json ? JSONLogHandler(label: label) as any LogHandler : StreamLogHandler.standardError(label: label)
        }
        let logger = Logger(label: "ferry")
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(makeMetricsFactory(registry: registry))

        try await reportingFailures {
            var configuration = ServeConfiguration(repositories: repositories)
            configuration.memoryBudget = try memoryBudget.map { text throws(FerryError) in try ByteCount.parse(text) }
            configuration.pinnedModels = Set(pinnedModels)
            var cache = ModelCacheSettings(directory: modelCache)
            cache.insecure = insecureRegistry
            cache.credentials = { DockerConfig.credentials(for: $0) }
            configuration.modelCache = cache
            configuration.host = host
            configuration.ports = ServerPorts(http: httpPort, grpc: grpcPort, metrics: metricsPort)
            configuration.modelControlMode = modelControlMode
            configuration.loadModels = loadModels
            configuration.pollInterval = .seconds(repositoryPollSecs)
            configuration.drainTimeout = .seconds(drainTimeout)
            configuration.maxRequestBytes = maxRequestBytes
            configuration.maximumConnections = maxConnections
            configuration.connections = ConnectionPolicy(
                idleTimeout: .seconds(idleTimeout), headerTimeout: .seconds(headerTimeout), bodyTimeout: .seconds(bodyTimeout))
            configuration.instances = instances
            configuration.device = DeviceRequest(parsing: device) ?? .cpu
            configuration.defaultMaxBatchSize = defaultMaxBatchSize
            configuration.defaultBatching = defaultBatching
            configuration.jobs = try jobOptions.configuration()
            configuration.tls = security.tls
            configuration.access = security.access
            configuration.accessLog = accessLog
            configuration.logsJSON = json
            configuration.otelEndpoint = otelEndpoint
            let server = try await FerryServer.build(
                configuration, backend: try runtime.backend(preferGPUBuild: configuration.device != .cpu), registry: registry, stopsOnSignals: true,
                logger: logger)
            try await server.run()
            logger.info("stopped")
        }
    }
}

/// `FERRY_*` environment variables, the defaults behind every serve option.
enum Environment {
    static func string(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    static func int(_ name: String) -> Int? { string(name).flatMap { Int($0) } }

    static func list(_ name: String) -> [String] {
        string(name)?.split(separator: ",").map { $0.trimmingWhitespace } ?? []
    }
}

extension ModelManager.ControlMode: ExpressibleByArgument {}
