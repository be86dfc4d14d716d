/// The ports `ferry serve` listens on: HTTP/REST, gRPC and Prometheus
/// metrics, 8000/8001/8002 as Triton's. An image is built for a set of them
/// and its deployment manifests must name the same.
public struct ServerPorts: Sendable, Hashable {
    public var http: Int
    public var grpc: Int
    public var metrics: Int

    public init(http: Int = 8000, grpc: Int = 8001, metrics: Int = 8002) {
        self.http = http
        self.grpc = grpc
        self.metrics = metrics
    }

    public var all: [Int] { [http, grpc, metrics] }

    /// Three different ports from 1 to 65535.
    public var areValid: Bool { all.allSatisfy { (1...65535).contains($0) } && Set(all).count == 3 }
}
