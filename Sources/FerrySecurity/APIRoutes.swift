/// The one table of which API group each HTTP route and gRPC method belongs
/// to. Access control reads it for every request; a test fails when a route
/// or RPC the servers register is missing here, or listed here but gone.
public enum APIRoutes {
    /// "METHOD /path" as the HTTP router writes its routes ("{name}" for a
    /// path parameter).
    public static let http: [String: Scope] = {
        var table: [String: Scope] = [:]
        func add(_ scope: Scope, _ methods: [String], _ paths: [String]) {
            for method in methods {
                for path in paths {
                    precondition(table.updateValue(scope, forKey: "\(method) \(path)") == nil, "\(method) \(path) listed twice")
                }
            }
        }
        let modelPaths = ["/v2/models/{model}", "/v2/models/{model}/versions/{version}"]
        add(.health, ["GET", "HEAD"], ["/v2/health/live", "/v2/health/ready"] + modelPaths.map { "\($0)/ready" })
        add(.metadata, ["GET"], ["/v2", "/", "/openapi.json"] + modelPaths + modelPaths.map { "\($0)/config" })
        add(.statistics, ["GET"], ["/v2/models/stats"] + modelPaths.map { "\($0)/stats" })
        add(.infer, ["POST"], modelPaths.map { "\($0)/infer" })
        add(.jobs, ["GET"], ["/v2/jobs", "/v2/jobs/{id}"])
        add(.jobs, ["DELETE"], ["/v2/jobs/{id}"])
        add(.repository, ["POST"], ["/v2/repository/index", "/v2/repository/models/{model}/load", "/v2/repository/models/{model}/unload"])
        add(.metrics, ["GET"], ["/metrics"])
        // TF Serving's REST API: a model, a version or a label, then the method after a colon.
        for selector in ["/v1/models/{model}", "/v1/models/{model}/versions/{version}", "/v1/models/{model}/labels/{label}"] {
            add(.metadata, ["GET"], [selector, "\(selector)/metadata"])
            add(.infer, ["POST"], ["predict", "classify", "regress"].map { "\(selector):\($0)" })
        }
        return table
    }()

    /// gRPC's ":path", "/package.Service/Method".
    public static let grpc: [String: Scope] = {
        var table: [String: Scope] = [:]
        func add(_ scope: Scope, _ service: String, _ methods: [String]) {
            for method in methods {
                precondition(table.updateValue(scope, forKey: "/\(service)/\(method)") == nil, "\(service)/\(method) listed twice")
            }
        }
        let inference = "inference.GRPCInferenceService"
        add(.health, inference, ["ServerLive", "ServerReady", "ModelReady"])
        add(.metadata, inference, ["ServerMetadata", "ModelMetadata", "ModelConfig"])
        add(.infer, inference, ["ModelInfer", "ModelStreamInfer"])
        add(.statistics, inference, ["ModelStatistics"])
        add(.repository, inference, ["RepositoryIndex", "RepositoryModelLoad", "RepositoryModelUnload"])
        add(.infer, "tensorflow.serving.PredictionService", ["Predict"])
        add(.metadata, "tensorflow.serving.PredictionService", ["GetModelMetadata"])
        add(.metadata, "tensorflow.serving.ModelService", ["GetModelStatus"])
        return table
    }()
}
