import FerryCore

extension OpenAPIDocument {
    private static let string: JSONValue = ["type": "string"]
    private static let integer: JSONValue = ["type": "integer"]
    private static let boolean: JSONValue = ["type": "boolean"]
    private static let anyJSON: JSONValue = [:]

    private static func object(_ properties: [String: JSONValue], required: [String]) -> JSONValue {
        ["type": "object", "properties": .object(properties), "required": .array(required.map { .string($0) })]
    }

    private static func list(_ items: JSONValue) -> JSONValue { ["type": "array", "items": items] }

    private static let datatypes: JSONValue = .array(DataType.allCases.map { .string($0.rawValue) })

    static var schemas: JSONValue {
        let tensorMetadata = object(["name": string, "datatype": string, "shape": list(integer)], required: ["name", "datatype", "shape"])
        let requestInput = object(
            [
                "name": string, "shape": list(["type": "integer", "minimum": 0]), "datatype": ["type": "string", "enum": datatypes],
                "parameters": ["type": "object"], "data": anyJSON,
            ], required: ["name", "shape", "datatype"])
        let responseOutput = object(
            ["name": string, "shape": list(integer), "datatype": string, "parameters": ["type": "object"], "data": anyJSON],
            required: ["name", "shape", "datatype"])
        let versionStatus = object(
            [
                "version": string, "state": ["type": "string", "enum": ["UNKNOWN", "START", "LOADING", "AVAILABLE", "UNLOADING", "END"]],
                "status": object(["error_code": string, "error_message": string], required: ["error_code", "error_message"]),
            ], required: ["version", "state", "status"])
        return [
            "Error": object(["error": string], required: ["error"]),
            "Liveness": object(["live": boolean, "error": string], required: ["live"]),
            "Readiness": object(["ready": boolean, "error": string], required: ["ready"]),
            "ModelReadiness": object(["name": string, "ready": boolean, "error": string], required: ["name", "ready"]),
            "ServerMetadata": object(["name": string, "version": string, "extensions": list(string)], required: ["name", "version", "extensions"]),
            "TensorMetadata": tensorMetadata,
            "ModelMetadata": object(
                ["name": string, "versions": list(string), "platform": string, "inputs": list(tensorMetadata), "outputs": list(tensorMetadata)],
                required: ["name", "platform", "inputs", "outputs"]),
            "InferenceRequest": object(
                [
                    "id": string, "parameters": ["type": "object"], "inputs": list(requestInput),
                    "outputs": list(object(["name": string, "parameters": ["type": "object"]], required: ["name"])),
                ], required: ["inputs"]),
            "InferenceResponse": object(
                ["model_name": string, "model_version": string, "id": string, "parameters": ["type": "object"], "outputs": list(responseOutput)],
                required: ["model_name", "outputs"]),
            "ModelStatistics": object(["model_stats": list(["type": "object"])], required: ["model_stats"]),
            "RepositoryEntry": object(["name": string, "version": string, "state": string, "reason": string], required: ["name"]),
            "Job": object(
                [
                    "id": string, "model": string, "model_version": string,
                    "status": ["type": "string", "enum": ["queued", "running", "succeeded", "failed", "cancelled"]],
                    "created": string, "started": string, "finished": string, "attempts": integer, "error": string, "error_status": integer,
                    "webhook": ["type": "object"], "response": ["type": "object"],
                ], required: ["id", "model", "status", "created", "attempts"]),
            "TFModelStatus": object(["model_version_status": list(versionStatus)], required: ["model_version_status"]),
            "TFModelMetadata": object(
                [
                    "model_spec": object(["name": string, "signature_name": string, "version": string], required: ["name"]),
                    "metadata": object(["signature_def": ["type": "object"]], required: ["signature_def"]),
                ], required: ["model_spec", "metadata"]),
            "TFPredictRequest": [
                "type": "object",
                "description":
                    "Row format: `instances`, one entry per batch row (a value, or an object naming every input). Columnar format: `inputs`, whole tensors (a value, or an object naming every input). Binary strings as {\"b64\": \"…\"}.",
                "properties": ["signature_name": string, "instances": ["type": "array"], "inputs": anyJSON],
            ],
            "TFPredictResponse": [
                "type": "object",
                "properties": ["predictions": ["type": "array"], "outputs": anyJSON],
            ],
            "TFExamplesRequest": object(
                ["signature_name": string, "context": ["type": "object"], "examples": list(["type": "object"])], required: ["examples"]),
            "TFClassifyResponse": object(
                ["result": list(list(["type": "array", "prefixItems": [string, ["type": "number"]], "minItems": 2, "maxItems": 2]))],
                required: ["result"]),
            "TFRegressResponse": object(["result": list(["type": "number"])], required: ["result"]),
        ]
    }
}
