import FerryCore
import FerryGPU
import FerryJobs
import FerrySecurity
import FerryTelemetry
import FerryServing
import Hummingbird
import Logging
import Prometheus
import Synchronization

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

/// The Prometheus endpoint (`GET /metrics` on port 8002, as Triton).
public func buildMetricsApplication(
    registry: PrometheusCollectorRegistry,
    host: String,
    port: Int,
    logger: Logger,
    connections: ConnectionPolicy = ConnectionPolicy(),
    connectionCount: ConnectionCount? = nil,
    tls: ServerTLS? = nil,
    access: AccessControl? = nil,
    accessLog: AccessLog = AccessLog(enabled: false),
    pendingRequests: @escaping @Sendable () -> [(model: String, version: String, pending: Int)] = { [] },
    gpuSamples: @escaping @Sendable () -> [GPUSample] = { [] },
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let count = connectionCount ?? ConnectionCount(maximum: connections.maximumConnections)
    return Application(
        router: buildMetricsRouter(
            registry: registry, access: access, accessLog: accessLog, pendingRequests: pendingRequests, gpuSamples: gpuSamples),
        server: serverBuilder(tls: tls, http2: false, policy: connections, count: count) { count in
            [ConnectionGuard(policy: connections, count: count)]
        },
        configuration: .init(address: .hostname(host, port: port), serverName: "ferry-metrics"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
        logger: logger
    )
}

/// The metrics port's one route.
public func buildMetricsRouter(
    registry: PrometheusCollectorRegistry,
    access: AccessControl? = nil,
    accessLog: AccessLog = AccessLog(enabled: false),
    pendingRequests: @escaping @Sendable () -> [(model: String, version: String, pending: Int)] = { [] },
    gpuSamples: @escaping @Sendable () -> [GPUSample] = { [] }
) -> Router<FerryRequestContext> {
    let router = Router(context: FerryRequestContext.self)
    if accessLog.enabled { router.add(middleware: RequestObserver(log: accessLog, tracing: nil)) }
    router.add(middleware: V2ErrorMiddleware(maxRequestBytes: 1 << 20))
    if let access, access.isActive { router.add(middleware: AccessMiddleware(access: access)) }
    let residentMemory = registry.makeGauge(
        descriptor: MetricNameDescriptor(
            namespace: "process", metricName: "resident_memory", unitName: "bytes", helpText: "Resident memory size in bytes.")
    )
    let pending = PendingRequestGauges(registry: registry)
    let gpus = GPUGauges(registry: registry)
    router.get("/metrics") { _, _ in
        // Sampled when scraped: the figures are always current and cost nothing between scrapes.
        if let bytes = ProcessMemory.residentBytes() { residentMemory.set(Double(bytes)) }
        pending.update(pendingRequests())
        gpus.update(gpuSamples())
        let body = registry.emitToBuffer()
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body))
        )
    }
    return router
}

/// The swift-metrics factory behind `/metrics`, with histogram buckets that
/// fit inference times (the library's defaults start at 5 ms).
public func makeMetricsFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
    var factory = PrometheusMetricsFactory(registry: registry)
    factory.durationHistogramBuckets = MetricsBuckets.durations.merging(JobMetrics.durationBuckets) { $1 }
    factory.valueHistogramBuckets = MetricsBuckets.values
    return factory
}

/// `ferry_inference_pending_request_count{model,version}`: requests queued
/// or running, as Triton's `nv_inference_pending_request_count`; what
/// `ferry deploy --scale-on queue` scales on. A version no longer served reads 0.
final class PendingRequestGauges: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let known = Mutex<Set<[String]>>([])

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    func update(_ counts: [(model: String, version: String, pending: Int)]) {
        let current = Set(counts.map { [$0.model, $0.version] })
        for count in counts { gauge(count.model, count.version).set(Double(count.pending)) }
        let gone = known.withLock { known in
            defer { known.formUnion(current) }
            return known.subtracting(current)
        }
        for labels in gone { gauge(labels[0], labels[1]).set(Double(0)) }
    }

    private func gauge(_ model: String, _ version: String) -> Gauge {
        registry.makeGauge(
            name: "ferry_inference_pending_request_count", labels: [("model", model), ("version", version)],
            help: "Requests queued or running on a model version.")
    }
}
