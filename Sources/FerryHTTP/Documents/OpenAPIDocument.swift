import FerryCore
import FerryServing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The OpenAPI 3.1 document of Ferry's HTTP API, served at `/openapi.json`:
/// the Open Inference Protocol (v2) with Triton's extensions, async jobs,
/// TensorFlow Serving's REST API, the docs page and the metrics endpoint.
///
/// The router and this document are written apart; a test compares the two,
/// so a route without an operation (or an operation without a route) fails.
public enum OpenAPIDocument {
    /// The document as JSON. Without `jobs`, the job routes (absent from such
    /// a server) are left out.
    public static func json(jobs: Bool = true) -> Data {
        var writer = JSONWriter(reservingCapacity: 32 << 10)
        writer.value(document(jobs: jobs))
        return writer.data
    }

    public static func document(jobs: Bool = true) -> JSONValue {
        var paths: [String: [String: JSONValue]] = [:]
        for operation in operations(jobs: jobs) {
            paths[operation.path, default: [:]][operation.method] = operation.json
        }
        var pathItems: [String: JSONValue] = paths.mapValues { .object($0) }
        // The metrics endpoint listens on its own port.
        if case .object(var metrics)? = pathItems["/metrics"] {
            metrics["servers"] = [["url": "http://{host}:{port}", "variables": ["host": ["default": "127.0.0.1"], "port": ["default": "8002"]]]]
            pathItems["/metrics"] = .object(metrics)
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Ferry",
                "version": .string(InferenceServer.version),
                "description":
                    "Model serving over the Open Inference Protocol (KServe v2) with Triton's extensions, TensorFlow Serving's REST API and async jobs. The same API is served over gRPC (inference.GRPCInferenceService, tensorflow.serving.PredictionService and ModelService) on the gRPC port.",
            ],
            "paths": .object(pathItems),
            "components": ["schemas": schemas],
        ]
    }

    /// Every (method, path) the document describes, paths written as the
    /// router writes them (`{model}`), for the drift test.
    public static func routes(jobs: Bool = true) -> [(method: String, path: String)] {
        operations(jobs: jobs).map { ($0.method.uppercased(), $0.path) }
    }

    // MARK: Operations

    struct Operation {
        var method: String
        var path: String
        var id: String
        var summary: String
        var tag: String
        var parameters: [JSONValue] = []
        var body: JSONValue?
        var responses: [String: JSONValue]

        var json: JSONValue {
            var members: [String: JSONValue] = [
                "operationId": .string(id), "summary": .string(summary), "tags": [.string(tag)], "responses": .object(responses),
            ]
            let pathNames = path.split(separator: "{").dropFirst().compactMap { $0.split(separator: "}").first.map(String.init) }
            let all = pathNames.map(pathParameter) + parameters
            if !all.isEmpty { members["parameters"] = .array(all) }
            if let body { members["requestBody"] = body }
            return .object(members)
        }
    }

    static func operations(jobs: Bool) -> [Operation] {
        var operations = health + metadata + inference + repository + tensorflowServing + documentation
        if jobs { operations += jobRoutes }
        operations.append(
            Operation(
                method: "get", path: "/metrics", id: "metrics", summary: "Prometheus metrics (on the metrics port, 8002 by default)",
                tag: "Metrics", responses: ["200": ["description": "Metrics in Prometheus' text format", "content": ["text/plain": ["schema": ["type": "string"]]]]]))
        return operations
    }

    private static let health: [Operation] = {
        var operations: [Operation] = []
        let routes: [(String, String, String, String)] = [
            ("/v2/health/live", "serverLive", "Whether the server is live", "Liveness"),
            ("/v2/health/ready", "serverReady", "Whether the server and all its models are ready", "Readiness"),
            ("/v2/models/{model}/ready", "modelReady", "Whether a model is ready", "ModelReadiness"),
            ("/v2/models/{model}/versions/{version}/ready", "modelVersionReady", "Whether a model version is ready", "ModelReadiness"),
        ]
        for (path, id, summary, schema) in routes {
            let model = path.contains("{model}")
            var get = json(ref(schema), "The answer: 200 true")
            get["400"] = ["description": "The answer: false (with the reason in `error`)", "content": ["application/json": ["schema": ref(schema)]]]
            if model { get.merge(errors([404]), uniquingKeysWith: { a, _ in a }) }
            operations.append(Operation(method: "get", path: path, id: id, summary: summary, tag: "Health", responses: get))
            var head: [String: JSONValue] = ["200": ["description": "True"], "400": ["description": "False"]]
            if model { head["404"] = ["description": "Unknown model"] }
            operations.append(
                Operation(method: "head", path: path, id: id + "Head", summary: summary + " (status code only)", tag: "Health", responses: head))
        }
        return operations
    }()

    private static let metadata: [Operation] = [
        Operation(
            method: "get", path: "/v2", id: "serverMetadata", summary: "Server name, version and protocol extensions", tag: "Metadata",
            responses: json(ref("ServerMetadata"), "Server metadata")),
        Operation(
            method: "get", path: "/v2/models/{model}", id: "modelMetadata", summary: "A model's versions, inputs and outputs", tag: "Metadata",
            responses: json(ref("ModelMetadata"), "Model metadata").merging(errors([400, 404, 503]), uniquingKeysWith: { a, _ in a })),
        Operation(
            method: "get", path: "/v2/models/{model}/versions/{version}", id: "modelVersionMetadata", summary: "A model version's inputs and outputs",
            tag: "Metadata", responses: json(ref("ModelMetadata"), "Model metadata").merging(errors([400, 404, 503]), uniquingKeysWith: { a, _ in a })),
        Operation(
            method: "get", path: "/v2/models/{model}/config", id: "modelConfig", summary: "A model's configuration (Triton's model_config as JSON)",
            tag: "Metadata", responses: json(["type": "object"], "The configuration").merging(errors([400, 404, 503]), uniquingKeysWith: { a, _ in a })),
        Operation(
            method: "get", path: "/v2/models/{model}/versions/{version}/config", id: "modelVersionConfig", summary: "A model version's configuration",
            tag: "Metadata", responses: json(["type": "object"], "The configuration").merging(errors([400, 404, 503]), uniquingKeysWith: { a, _ in a })),
        Operation(
            method: "get", path: "/v2/models/stats", id: "allModelStatistics", summary: "Inference statistics of every model", tag: "Statistics",
            responses: json(ref("ModelStatistics"), "Statistics").merging(errors([400]), uniquingKeysWith: { a, _ in a })),
        Operation(
            method: "get", path: "/v2/models/{model}/stats", id: "modelStatistics", summary: "A model's inference statistics", tag: "Statistics",
            responses: json(ref("ModelStatistics"), "Statistics").merging(errors([400, 404, 503]), uniquingKeysWith: { a, _ in a })),
        Operation(
            method: "get", path: "/v2/models/{model}/versions/{version}/stats", id: "modelVersionStatistics",
            summary: "A model version's inference statistics", tag: "Statistics",
            responses: json(ref("ModelStatistics"), "Statistics").merging(errors([400, 404, 503]), uniquingKeysWith: { a, _ in a })),
    ]

    private static let inferenceBody: JSONValue = [
        "required": true,
        "content": [
            "application/json": ["schema": ref("InferenceRequest")],
            "application/octet-stream": [
                "schema": ["type": "string", "format": "binary"],
                "description":
                    "Triton's binary tensor extension: a JSON header of Inference-Header-Content-Length bytes, then the tensors' bytes; or, with that header at 0, one input's raw bytes.",
            ],
        ],
    ]

    private static let inferenceParameters: [JSONValue] = [
        [
            "name": "Inference-Header-Content-Length", "in": "header", "required": false, "schema": ["type": "string", "pattern": "^[0-9]+$"],
            "description": "Length of the JSON header before binary tensor data.",
        ],
        [
            "name": "Prefer", "in": "header", "required": false, "schema": ["type": "string"],
            "description": "`respond-async` stores the request as a job and answers 202 with its location.",
        ],
    ]

    private static var inferenceResponses: [String: JSONValue] {
        var responses: [String: JSONValue] = [
            "200": [
                "description": "The outputs",
                "content": [
                    "application/json": ["schema": ref("InferenceResponse")],
                    "application/octet-stream": ["schema": ["type": "string", "format": "binary"]],
                ],
            ],
            "202": ["description": "Stored as an async job (Prefer: respond-async)", "content": ["application/json": ["schema": ref("Job")]]],
        ]
        responses.merge(errors([400, 404, 413, 503, 504]), uniquingKeysWith: { a, _ in a })
        return responses
    }

    private static var inference: [Operation] {
        [
            Operation(
                method: "post", path: "/v2/models/{model}/infer", id: "modelInfer", summary: "Run inference on a model's newest ready version",
                tag: "Inference", parameters: inferenceParameters, body: inferenceBody, responses: inferenceResponses),
            Operation(
                method: "post", path: "/v2/models/{model}/versions/{version}/infer", id: "modelVersionInfer",
                summary: "Run inference on one version of a model", tag: "Inference", parameters: inferenceParameters, body: inferenceBody,
                responses: inferenceResponses),
        ]
    }

    private static let repository: [Operation] = [
        Operation(
            method: "post", path: "/v2/repository/index", id: "repositoryIndex", summary: "The repository's models and their states",
            tag: "Model repository",
            body: ["required": false, "content": ["application/json": ["schema": ["type": "object", "properties": ["ready": ["type": "boolean"]]]]]],
            responses: json(["type": "array", "items": ref("RepositoryEntry")], "The index").merging(errors([400, 413]), uniquingKeysWith: { a, _ in a })),
        Operation(
            method: "post", path: "/v2/repository/models/{model}/load", id: "repositoryModelLoad", summary: "Load or reload a model",
            tag: "Model repository",
            body: ["required": false, "content": ["application/json": ["schema": ["type": "object", "properties": ["parameters": ["type": "object"]]]]]],
            responses: ["200": ["description": "Loaded"]].merging(errors([400, 404, 409, 413, 503]), uniquingKeysWith: { a, _ in a })),
        Operation(
            method: "post", path: "/v2/repository/models/{model}/unload", id: "repositoryModelUnload", summary: "Unload a model",
            tag: "Model repository",
            responses: ["200": ["description": "Unloaded"]].merging(errors([400, 404, 409, 503]), uniquingKeysWith: { a, _ in a })),
    ]

    private static let jobRoutes: [Operation] = [
        Operation(
            method: "get", path: "/v2/jobs", id: "listJobs", summary: "Async jobs, newest first", tag: "Jobs",
            parameters: [
                ["name": "model", "in": "query", "required": false, "schema": ["type": "string"]],
                ["name": "status", "in": "query", "required": false, "schema": ["type": "string", "enum": ["queued", "running", "succeeded", "failed", "cancelled"]]],
                ["name": "limit", "in": "query", "required": false, "schema": ["type": "integer", "minimum": 1, "maximum": 1000]],
            ],
            responses: json(["type": "object", "required": ["jobs"], "properties": ["jobs": ["type": "array", "items": ref("Job")]]], "The jobs")
                .merging(errors([400]), uniquingKeysWith: { a, _ in a })),
        Operation(
            method: "get", path: "/v2/jobs/{id}", id: "getJob", summary: "An async job, with its response once it has one", tag: "Jobs",
            responses: json(ref("Job"), "The job").merging(errors([400, 404]), uniquingKeysWith: { a, _ in a })),
        Operation(
            method: "delete", path: "/v2/jobs/{id}", id: "cancelJob", summary: "Cancel an async job", tag: "Jobs",
            responses: json(ref("Job"), "The job, cancelled").merging(errors([400, 404, 409]), uniquingKeysWith: { a, _ in a })),
    ]

    private static var tensorflowServing: [Operation] {
        var operations: [Operation] = []
        let selectors: [(String, String, String)] = [
            ("", "", "the newest version"), ("/versions/{version}", "Version", "one version"), ("/labels/{label}", "Label", "a labelled version"),
        ]
        for (suffix, idSuffix, which) in selectors {
            let base = "/v1/models/{model}" + suffix
            operations.append(
                Operation(
                    method: "get", path: base, id: "tfModelStatus" + idSuffix, summary: "TF Serving model status (\(which == "the newest version" ? "every version" : which))",
                    tag: "TensorFlow Serving",
                    responses: json(ref("TFModelStatus"), "Version states").merging(errors([400, 404, 503]), uniquingKeysWith: { a, _ in a })))
            operations.append(
                Operation(
                    method: "get", path: base + "/metadata", id: "tfModelMetadata" + idSuffix, summary: "TF Serving model metadata (\(which))",
                    tag: "TensorFlow Serving",
                    responses: json(ref("TFModelMetadata"), "The signature").merging(errors([400, 404, 503]), uniquingKeysWith: { a, _ in a })))
            let failures = errors([400, 404, 413, 503, 504])
            operations.append(
                Operation(
                    method: "post", path: base + ":predict", id: "tfPredict" + idSuffix, summary: "TF Serving predict, row or columnar (\(which))",
                    tag: "TensorFlow Serving", body: ["required": true, "content": ["application/json": ["schema": ref("TFPredictRequest")]]],
                    responses: json(ref("TFPredictResponse"), "Predictions").merging(failures, uniquingKeysWith: { a, _ in a })))
            operations.append(
                Operation(
                    method: "post", path: base + ":classify", id: "tfClassify" + idSuffix, summary: "TF Serving classify (\(which))",
                    tag: "TensorFlow Serving", body: ["required": true, "content": ["application/json": ["schema": ref("TFExamplesRequest")]]],
                    responses: json(ref("TFClassifyResponse"), "Label and score of every class, per example").merging(failures, uniquingKeysWith: { a, _ in a })))
            operations.append(
                Operation(
                    method: "post", path: base + ":regress", id: "tfRegress" + idSuffix, summary: "TF Serving regress (\(which))",
                    tag: "TensorFlow Serving", body: ["required": true, "content": ["application/json": ["schema": ref("TFExamplesRequest")]]],
                    responses: json(ref("TFRegressResponse"), "One value per example").merging(failures, uniquingKeysWith: { a, _ in a })))
        }
        return operations
    }

    private static let documentation: [Operation] = [
        Operation(
            method: "get", path: "/", id: "docsPage", summary: "The docs page: server and model status, and a form to try each model",
            tag: "Documentation", responses: ["200": ["description": "HTML", "content": ["text/html": ["schema": ["type": "string"]]]]]),
        Operation(
            method: "get", path: "/openapi.json", id: "openAPI", summary: "This document", tag: "Documentation",
            responses: json(["type": "object"], "OpenAPI 3.1")),
    ]

    // MARK: Building blocks

    static func pathParameter(_ name: String) -> JSONValue {
        let descriptions = [
            "model": "Model name (percent-encoded)", "version": "Model version number", "label": "Version label (config.pbtxt parameter version_labels)",
            "id": "Job id",
        ]
        return [
            "name": .string(name), "in": "path", "required": true, "schema": ["type": "string"],
            "description": .string(descriptions[name] ?? name),
        ]
    }

    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }

    static func json(_ schema: JSONValue, _ description: String) -> [String: JSONValue] {
        ["200": ["description": .string(description), "content": ["application/json": ["schema": schema]]]]
    }

    static func errors(_ codes: [Int]) -> [String: JSONValue] {
        let meaning = [
            400: "Invalid request", 404: "Unknown model, version, label or job", 409: "Conflict with the current state", 413: "Request too large",
            503: "Not ready or shutting down", 504: "Timed out in the queue",
        ]
        var responses: [String: JSONValue] = [:]
        for code in codes {
            responses[String(code)] = [
                "description": .string(meaning[code] ?? "Error"), "content": ["application/json": ["schema": ref("Error")]],
            ]
        }
        return responses
    }
}
