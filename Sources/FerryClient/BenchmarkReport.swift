import FerryCore
import Histogram

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `ferry bench`'s results as a table for people, or JSON / CSV for programs.
public enum BenchmarkReport {
    static let percentiles: [(String, Double)] = [("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9)]

    public static func label(_ mode: LoadPlan.Mode) -> String {
        switch mode {
        case .concurrency(let count): "concurrency \(count)"
        case .requestRate(let rate): "rate \(rate == rate.rounded() ? String(Int(rate)) : rate.fixed(1))/s"
        }
    }

    public static func table(_ results: [LoadResult]) -> String {
        func us(_ value: Double?) -> String { value.map { String(Int($0.rounded())) } ?? "-" }
        let widths = [18, 9, 8, 8, 8, 8, 8, 13, 15]
        func row(_ cells: [String]) -> String {
            zip(cells, widths).enumerated().map { index, pair in
                let (cell, width) = pair
                let padding = String(repeating: " ", count: max(0, width - cell.count))
                return index == 0 ? cell + padding : padding + cell
            }.joined(separator: " ")
        }
        var lines = [row(["load", "req/s", "p50", "p90", "p99", "p99.9", "failures", "server queue", "server compute"])]
        for result in results {
            lines.append(
                row(
                    [label(result.plan.mode), String(Int(result.throughput.rounded()))]
                        + percentiles.map { String(result.latency(percentile: $0.1)) }
                        + [String(result.failures), us(result.serverQueueMicroseconds), us(result.serverComputeMicroseconds)]
                )
            )
        }
        lines.append("(latencies and server times in µs)")
        return lines.joined(separator: "\n")
    }

    public static func json(_ results: [LoadResult], model: String, url: String) -> Data {
        var writer = JSONWriter()
        writer.object { object in
            object.member("model") { $0.string(model) }
            object.member("url") { $0.string(url) }
            object.member("results") { writer in
                writer.list(results) { writer, result in
                    writer.object { object in
                        switch result.plan.mode {
                        case .concurrency(let count): object.member("concurrency") { $0.integer(count) }
                        case .requestRate(let rate): object.member("request_rate") { $0.floatingPoint(rate) }
                        }
                        object.member("duration_s") { $0.floatingPoint(result.elapsed.seconds) }
                        object.member("requests") { $0.integer(result.requests) }
                        object.member("failures") { $0.integer(result.failures) }
                        if let failure = result.firstFailure { object.member("first_failure") { $0.string(failure) } }
                        object.member("throughput") { $0.floatingPoint(result.throughput) }
                        object.member("latency_us") { writer in
                            writer.object { object in
                                for (name, percentile) in percentiles {
                                    object.member(name) { $0.integer(result.latency(percentile: percentile)) }
                                }
                                object.member("mean") { $0.floatingPoint(result.latencies.mean) }
                                object.member("max") { $0.integer(result.latencies.max) }
                            }
                        }
                        if let server = result.server {
                            object.member("server") { writer in
                                writer.object { object in
                                    object.member("success_count") { $0.integer(server.successCount) }
                                    object.member("failure_count") { $0.integer(server.failureCount) }
                                    object.member("inference_count") { $0.integer(server.inferenceCount) }
                                    object.member("execution_count") { $0.integer(server.executionCount) }
                                    if let queue = result.serverQueueMicroseconds { object.member("queue_us") { $0.floatingPoint(queue) } }
                                    if let compute = result.serverComputeMicroseconds {
                                        object.member("compute_us") { $0.floatingPoint(compute) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return writer.data
    }

    public static func csv(_ results: [LoadResult]) -> String {
        var rows = ["load,throughput,p50_us,p90_us,p99_us,p99_9_us,failures,server_queue_us,server_compute_us"]
        for result in results {
            let fields =
                [label(result.plan.mode), result.throughput.fixed(1)]
                + percentiles.map { String(result.latency(percentile: $0.1)) }
                + [String(result.failures)]
                + [result.serverQueueMicroseconds, result.serverComputeMicroseconds].map { $0.map { $0.fixed(1) } ?? "" }
            rows.append(fields.joined(separator: ","))
        }
        return rows.joined(separator: "\n") + "\n"
    }
}
