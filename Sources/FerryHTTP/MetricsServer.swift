import FerryServing
import Hummingbird
import Logging
import Prometheus

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
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = Router(context: BasicRequestContext.self)
    let residentMemory = registry.makeGauge(
        descriptor: MetricNameDescriptor(
            namespace: "process", metricName: "resident_memory", unitName: "bytes", helpText: "Resident memory size in bytes.")
    )
    router.get("/metrics") { _, _ in
        // Sampled when scraped: the figure is always current and costs nothing between scrapes.
        if let bytes = ProcessMemory.residentBytes() { residentMemory.set(Double(bytes)) }
        let body = registry.emitToBuffer()
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body))
        )
    }
    return Application(
        router: router,
        configuration: .init(address: .hostname(host, port: port), serverName: "ferry-metrics"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
        logger: logger
    )
}

/// The swift-metrics factory behind `/metrics`, with histogram buckets that
/// fit inference times (the library's defaults start at 5 ms).
public func makeMetricsFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
    var factory = PrometheusMetricsFactory(registry: registry)
    factory.durationHistogramBuckets = MetricsBuckets.durations
    factory.valueHistogramBuckets = MetricsBuckets.values
    return factory
}

enum ProcessMemory {
    /// Resident set size from /proc/self/statm (second field, in pages).
    static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
