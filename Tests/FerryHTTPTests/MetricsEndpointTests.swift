import FerryHTTP
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Synchronization
import Testing

@Suite("the metrics endpoint")
struct MetricsEndpointTests {
    @Test("ferry_inference_pending_request_count is sampled at each scrape; a version no longer served reads 0")
    func pendingGauge() async throws {
        let registry = PrometheusCollectorRegistry()
        let counts = Mutex<[(model: String, version: String, pending: Int)]>([("mlp", "1", 3), ("mlp", "2", 0)])
        let app = buildMetricsApplication(
            registry: registry, host: "127.0.0.1", port: 0, logger: Logger(label: "test"), pendingRequests: { counts.withLock { $0 } })
        try await app.test(.router) { client in
            let first = try await client.execute(uri: "/metrics", method: .get)
            let text = String(buffer: first.body)
            #expect(text.contains(#"ferry_inference_pending_request_count{model="mlp",version="1"} 3"#), "\(text)")
            #expect(text.contains(#"ferry_inference_pending_request_count{model="mlp",version="2"} 0"#), "\(text)")
            counts.withLock { $0 = [("mlp", "2", 5)] }
            let second = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(second.contains(#"ferry_inference_pending_request_count{model="mlp",version="1"} 0"#), "\(second)")
            #expect(second.contains(#"ferry_inference_pending_request_count{model="mlp",version="2"} 5"#), "\(second)")
        }
    }
}
