import FerryCore
import FerryGRPC
import FerryONNXRuntime
import FerryProtocol
import FerrySecurity
import FerryServing
import Foundation
import GRPCCore
import GRPCInProcessTransport
import Testing

/// The gRPC service over grpc-swift's in-process transport: the same
/// service `ferry serve` runs, without sockets.
@Suite("GRPCInferenceService over the in-process transport")
struct GRPCInferenceServiceTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    typealias Service = Inference_GRPCInferenceService.Client<InProcessTransport.Client>

    /// Serves fixture `models` (and an explicit-mode server when `explicit`) and hands a client to `body`.
    func withService(models: [String], explicit: Bool = false, _ body: (Service) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-grpc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        for model in models {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent("\(model)/1"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                at: Self.root.appendingPathComponent("Tests/Fixtures/models/\(model).onnx"),
                to: directory.appendingPathComponent("\(model)/1/model.onnx"))
        }
        let library = Self.root.appendingPathComponent(".deps/onnxruntime/lib/libonnxruntime.so.1.31.1").path
        let manager = ModelManager(
            repository: try ModelRepository(path: directory.path),
            backend: ONNXRuntimeBackend(runtime: try ONNXRuntime.load(libraryPath: library)),
            controlMode: explicit ? .explicit : .none)
        await manager.loadInitialModels(explicitlyNamed: explicit ? ["*"] : [])
        let transport = InProcessTransport()
        let server = GRPCServer(transport: transport.server, services: [GRPCInferenceService(server: InferenceServer(manager: manager))])
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.serve() }
            try await withGRPCClient(transport: transport.client) { client in
                try await body(Service(wrapping: client))
            }
            server.beginGracefulShutdown()
        }
    }

    func mlpInfer(_ id: String = "r1") -> Inference_ModelInferRequest {
        var request = Inference_ModelInferRequest()
        request.modelName = "mlp"
        request.id = id
        var input = Inference_ModelInferRequest.InferInputTensor()
        input.name = "input"
        input.datatype = "FP32"
        input.shape = [1, 64]
        input.contents.fp32Contents = (0..<64).map { Float($0) / 64 }
        request.inputs = [input]
        return request
    }

    @Test("ModelInfer answers with the request's id and typed contents become raw outputs")
    func infer() async throws {
        try await withService(models: ["mlp"]) { service in
            let response = try await service.modelInfer(mlpInfer())
            #expect(response.id == "r1")
            #expect(response.modelName == "mlp" && response.modelVersion == "1")
            #expect(response.outputs.map(\.shape) == [[1, 16]])
            #expect(response.rawOutputContents.first?.count == 16 * 4)
        }
    }

    @Test("readiness: true for a loaded model, NOT_FOUND for an unknown one (HTTP's 404)")
    func readiness() async throws {
        try await withService(models: ["mlp"]) { service in
            var request = Inference_ModelReadyRequest()
            request.name = "mlp"
            let ready = try await service.modelReady(request).ready
            #expect(ready)
            request.name = "nope"
            let error = await #expect(throws: RPCError.self) { try await service.modelReady(request) }
            #expect(error?.code == .notFound)
            #expect(error?.message == "unknown model 'nope'")
        }
    }

    @Test("bad requests get their status and sentence: unknown model, overflowing shape, load parameters")
    func errors() async throws {
        try await withService(models: ["mlp"], explicit: true) { service in
            var unknown = mlpInfer()
            unknown.modelName = "nope"
            let notFound = await #expect(throws: RPCError.self) { try await service.modelInfer(unknown) }
            #expect(notFound?.code == .notFound)

            var huge = mlpInfer()
            huge.inputs[0].shape = [1 << 32, 1 << 32]
            let overflow = await #expect(throws: RPCError.self) { try await service.modelInfer(huge) }
            #expect(overflow?.code == .invalidArgument)
            #expect(overflow?.message == "input 'input': shape [4294967296, 4294967296] holds more elements than any tensor can")

            var load = Inference_RepositoryModelLoadRequest()
            load.modelName = "mlp"
            load.parameters["config"] = Inference_ModelRepositoryParameter()
            let refused = await #expect(throws: RPCError.self) { try await service.repositoryModelLoad(load) }
            #expect(refused?.code == .invalidArgument)
            #expect(refused?.message == "load parameters (config) are not supported; change the repository instead")

            // A NUL byte once cut the name short at the file system: a phantom model, and readiness false.
            for name in ["mlp\0", "..\0x", "../mlp", "."] {
                var bad = Inference_RepositoryModelLoadRequest()
                bad.modelName = name
                let invalid = await #expect(throws: RPCError.self) { try await service.repositoryModelLoad(bad) }
                #expect(invalid?.code == .invalidArgument)
                var unload = Inference_RepositoryModelUnloadRequest()
                unload.modelName = name
                let refusedUnload = await #expect(throws: RPCError.self) { try await service.repositoryModelUnload(unload) }
                #expect(refusedUnload?.code == .invalidArgument)
            }
            let ready = try await service.serverReady(Inference_ServerReadyRequest())
            #expect(ready.ready)
        }
    }

    @Test("ModelStreamInfer answers every request in order, errors in the stream without ending it")
    func stream() async throws {
        try await withService(models: ["mlp"]) { service in
            var bad = mlpInfer("bad")
            bad.modelName = "nope"
            let requests = [mlpInfer("a"), bad, mlpInfer("b")]
            try await service.modelStreamInfer(
                requestProducer: { writer in try await writer.write(contentsOf: requests) },
                onResponse: { response in
                    var answers: [(String, String)] = []
                    for try await message in response.messages {
                        answers.append((message.inferResponse.id, message.errorMessage))
                    }
                    #expect(answers.map(\.0) == ["a", "bad", "b"])
                    #expect(answers.map(\.1) == ["", "unknown model 'nope'", ""])
                })
        }
    }
}

@Suite("gRPC methods and their API groups")
struct GRPCAPIGroupTests {
    @Test("every method the gRPC endpoint serves belongs to one API group in APIRoutes, and every method there is served")
    func methodsHaveAPIGroups() throws {
        let manager = ModelManager(
            repository: try ModelRepository(path: FileManager.default.temporaryDirectory.path),
            backend: ONNXRuntimeBackend(
                runtime: try ONNXRuntime.load(
                    libraryPath: GRPCInferenceServiceTests.root.appendingPathComponent(".deps/onnxruntime/lib/libonnxruntime.so.1.31.1").path)))
        var router = RPCRouter<InProcessTransport.Server>()
        for service in GRPCServerService.services(server: InferenceServer(manager: manager), maxRequestBytes: 1 << 20) {
            service.registerMethods(with: &router)
        }
        let served = Set(router.methods.map { "/\($0.fullyQualifiedMethod)" })
        let grouped = Set(APIRoutes.grpc.keys)
        #expect(served.subtracting(grouped).sorted() == [], "methods without an API group")
        #expect(grouped.subtracting(served).sorted() == [], "API groups of methods no longer served")
        #expect(APIRoutes.grpc["/inference.GRPCInferenceService/ModelInfer"] == .infer)
    }
}
