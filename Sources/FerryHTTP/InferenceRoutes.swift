import FerryCore
import FerryProtocol
import FerryJobs
import FerrySecurity
import FerryTelemetry
import FerryServing
import HTTPTypes
import Hummingbird

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `POST /v2/models/{m}[/versions/{v}]/infer` with JSON or binary tensor data;
/// with `Prefer: respond-async`, the request is stored as a job and answered 202.
struct InferenceRoutes {
    let server: InferenceServer
    let jobs: JobService?
    let maxRequestBytes: Int

    static let headerLength = HTTPField.Name("Inference-Header-Content-Length")!

    func register(on router: Router<FerryRequestContext>) {
        router.post("/v2/models/:model/infer") { request, context in
            try await infer(request, model: context.parameters.decoded("model"), version: nil, context: context)
        }
        router.post("/v2/models/:model/versions/:version/infer") { request, context in
            try await infer(request, model: context.parameters.decoded("model"), version: context.parameters.decoded("version"), context: context)
        }
    }

    private func infer(_ request: Request, model: String, version: String?, context: FerryRequestContext) async throws -> Response {
        let buffer = try await request.body.collect(upTo: maxRequestBytes)
        let received = WallInstant.now()
        let body = buffer.withUnsafeReadableBytes { Data($0) }
        // A raw binary body is shaped by the model's config, which a model not loaded yet does not have.
        if request.headers[Self.headerLength] == "0" { await server.loadOnDemand(model) }
        let inference = try decode(body, headers: request.headers, model: model, version: version)
        let submitted = WallInstant.now()
        if let jobs, JobRoutes.prefersAsync(request.headers) {
            // A job is read back through the job routes: submitting one needs their scope too.
            if let credential = context.credential, !credential.scopes.contains(.jobs) {
                throw FerryError(.permissionDenied, "the credential '\(credential.name)' lacks the 'jobs' scope an async request needs")
            }
            let (job, replayed) = try await jobs.submit(
                inference, model: model, version: version, owner: context.credential?.owner ?? "",
                idempotencyKey: request.headers[JobRoutes.idempotencyKey])
            return JobRoutes.accepted(job, replayed: replayed)
        }
        let response = try await Self.infer(inference, on: server, model: model, version: version, connection: context.connection)
        let encoded = try encode(response, for: inference, clientSpeaksBinary: request.headers[Self.headerLength] != nil)
        context.record.span?.recordInference(received: received, submitted: submitted, timing: response.timing, encoded: .now())
        return encoded
    }

    /// Runs a request; a client that disconnects cancels it, as a gRPC cancel does.
    static func infer(
        _ inference: InferenceRequest, on server: InferenceServer, model: String, version: String?, connection: ClientConnection?
    ) async throws -> InferenceResponse {
        guard let connection else { return try await server.infer(inference, model: model, version: version) }
        let cancellation = Cancellation()
        return try await connection.cancellingOnClose(cancellation) {
            try await server.infer(inference, model: model, version: version, cancellation: cancellation)
        }
    }

    /// The body is a JSON request, a JSON header followed by binary tensor data
    /// (`Inference-Header-Content-Length` says where the header ends), or — with
    /// that header at 0 — the raw bytes of a single-input model's one input.
    private func decode(_ body: Data, headers: HTTPFields, model: String, version: String?) throws(FerryError) -> InferenceRequest {
        guard let value = headers[Self.headerLength] else {
            return try InferenceRequest(v2JSON: body)
        }
        // Digits only: Int("+104") would accept a sign no HTTP length field has.
        guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let headerLength = Int(value),
            headerLength <= body.count
        else {
            throw FerryError(
                .invalidArgument,
                "Inference-Header-Content-Length is '\(value)', but the body has \(body.count) bytes"
            )
        }
        if headerLength == 0 {
            return try rawRequest(body, model: model, version: version)
        }
        let header = try JSONParser.parse(body.prefix(headerLength))
        return try InferenceRequest(v2JSON: header, binary: body.dropFirst(headerLength))
    }

    /// A raw binary request: the whole body is the model's single input, its
    /// shape taken from the configuration (the batch size from the byte count).
    private func rawRequest(_ body: Data, model: String, version: String?) throws(FerryError) -> InferenceRequest {
        let config = try server.modelConfiguration(model, version: version)
        guard config.inputs.count == 1, let input = config.inputs.first else {
            throw FerryError(
                .invalidArgument, "a raw binary request needs a model with one input; model '\(model)' has \(config.inputs.count)")
        }
        guard let elementSize = input.datatype.elementSize, !input.dims.contains(-1) else {
            throw FerryError(
                .invalidArgument,
                "a raw binary request needs an input of fixed shape and size; input '\(input.name)' of model '\(model)' is \(input.datatype.rawValue) \(input.dims)"
            )
        }
        var itemBytes = elementSize
        for dim in input.dims {
            let (product, overflow) = itemBytes.multipliedReportingOverflow(by: dim)
            guard !overflow else {
                throw FerryError(.invalidArgument, "input '\(input.name)' of model '\(model)' is too large for a raw request")
            }
            itemBytes = product
        }
        var dims = input.dims
        if config.maxBatchSize > 0 {
            guard itemBytes > 0, body.count % itemBytes == 0 else {
                throw FerryError(
                    .invalidArgument,
                    "a raw body of \(body.count) bytes is not a whole number of \(itemBytes)-byte items for input '\(input.name)'")
            }
            dims.insert(body.count / itemBytes, at: 0)
        }
        let raw = InferenceRequest(inputs: [Tensor(name: input.name, datatype: input.datatype, shape: TensorShape(dims), data: body)])
        return InferenceRequest(id: raw.id, inputs: raw.inputs, outputs: [], parameters: ["binary_data_output": .bool(true)])
    }

    /// Outputs go back as JSON unless the request asks for binary data, per
    /// output (`binary_data`) or for all (`binary_data_output`). A BYTES output
    /// that is not UTF-8 text cannot be a JSON string without changing its
    /// bytes: it goes back as binary data when the client sent binary data
    /// itself and did not ask for that output as JSON; otherwise the codec
    /// refuses it with a message that says how to ask for it.
    private func encode(_ response: InferenceResponse, for request: InferenceRequest, clientSpeaksBinary: Bool) throws(FerryError)
        -> Response
    {
        let allBinary = request.parameters["binary_data_output"]?.boolValue ?? false
        var binary = Set<String>()
        for output in response.outputs {
            let asked = request.outputs.first { $0.name == output.name }?.parameters["binary_data"]?.boolValue
            if asked ?? allBinary {
                binary.insert(output.name)
            } else if clientSpeaksBinary, asked != false, try TensorJSONCoding.firstNonTextElement(output) != nil {
                binary.insert(output.name)
            }
        }
        guard !binary.isEmpty else {
            return .json(Array(try response.v2JSON()))
        }
        let (header, chunks) = try response.v2Body(binaryOutputs: binary)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(header.count + chunks.reduce(0) { $0 + $1.count })
        buffer.writeBytes(header)
        for chunk in chunks { buffer.writeBytes(chunk) }
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/octet-stream",
                Self.headerLength: String(header.count),
                .contentLength: String(buffer.readableBytes),
            ],
            body: ResponseBody(byteBuffer: buffer)
        )
    }
}
