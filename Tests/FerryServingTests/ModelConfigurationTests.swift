import FerryCore
import FerryServing
import Foundation
import Testing

@Suite("config.pbtxt and configuration completion")
struct ModelConfigurationTests {
    let mlp = ModelSignature(
        inputs: [TensorSpec(name: "input", datatype: .fp32, shape: [-1, 64])],
        outputs: [TensorSpec(name: "output", datatype: .fp32, shape: [-1, 16])]
    )

    @Test("the digits example's config.pbtxt parses with its reshape and version policy")
    func digitsConfig() throws {
        let text = try String(
            contentsOf: TestRepository.root.appendingPathComponent("examples/models/digits/config.pbtxt"), encoding: .utf8)
        let config = try ModelConfiguration(pbtxt: text, modelName: "digits")
        #expect(config.maxBatchSize == 64)
        #expect(config.inputs.map { $0.name } == ["input"])
        #expect(config.inputs[0].dims == [64])
        let label = try #require(config.outputs.first { $0.name == "label" })
        #expect(label.datatype == .int64)
        #expect(label.dims == [1])
        #expect(label.reshape == [])
    }

    @Test("all the fields Ferry honours are read")
    func fullConfig() throws {
        let config = try ModelConfiguration(
            pbtxt: """
                name: "m"
                platform: "onnxruntime_onnx"
                max_batch_size: 8
                version_policy: { specific: { versions: [1, 3] } }
                input [ { name: "input", data_type: TYPE_FP32, dims: [ 64 ] } ]
                instance_group [ { count: 2, kind: KIND_CPU } ]
                dynamic_batching {
                  preferred_batch_size: [ 4, 8 ]
                  max_queue_delay_microseconds: 100
                  default_queue_policy { max_queue_size: 16, default_timeout_microseconds: 5000, timeout_action: DELAY }
                }
                parameters { key: "k" value: { string_value: "v" } }
                """,
            modelName: "m"
        )
        #expect(config.versionPolicy == .specific([1, 3]))
        #expect(config.instanceCount == 2)
        #expect(config.dynamicBatching?.preferredBatchSizes == [4, 8])
        #expect(config.dynamicBatching?.maxQueueDelayMicroseconds == 100)
        #expect(config.dynamicBatching?.defaultQueuePolicy.maxQueueSize == 16)
        #expect(config.dynamicBatching?.defaultQueuePolicy.timeoutAction == .delay)
        #expect(config.parameters == ["k": "v"])
    }

    @Test(
        "a config that contradicts itself or the model names the field",
        arguments: [
            (#"name: "other""#, "config field name is 'other', but the model's directory is 'm'"),
            (#"platform: "tensorflow_savedmodel""#, "config field platform is 'tensorflow_savedmodel'"),
            (
                "max_batch_size: 4\ninput [ { name: \"x\", data_type: TYPE_FP32, dims: [ 64 ] } ]",
                "config field input names 'x', which the model does not have"
            ),
            (
                "max_batch_size: 4\ninput [ { name: \"input\", data_type: TYPE_INT32, dims: [ 64 ] } ]",
                "config field input 'input' has data_type TYPE_INT32, but the model's is TYPE_FP32"
            ),
            (
                "max_batch_size: 4\ninput [ { name: \"input\", data_type: TYPE_FP32, dims: [ 32 ] } ]",
                "config field input 'input' has dims [32] (plus the batch dimension)"
            ),
            (
                "max_batch_size: 0\ninput [ { name: \"input\", data_type: TYPE_FP32, dims: [ 64 ] } ]",
                "config field input 'input' has dims [64], but the model's shape is [-1, 64]"
            ),
            ("version_policy: { latest: { num_versions: 0 } }", "config field version_policy.latest.num_versions must be at least 1"),
            (
                "max_batch_size: 4\ninput [ { name: \"input\", data_type: TYPE_FP32, dims: [ 2, 3 ], reshape: { shape: [ 64 ] } } ]",
                "config field input 'input' has dims [2, 3] and reshape [64], which hold different numbers of elements"
            ),
            (
                "max_batch_size: 4\ndynamic_batching { preferred_batch_size: [ 8 ] }",
                "config field dynamic_batching.preferred_batch_size has 8"
            ),
            ("not protobuf at all {", "config.pbtxt is not valid"),
        ]
    )
    func contradictions(text: String, message: String) throws {
        let error = try #require(throws: FerryError.self) {
            try ModelConfiguration(pbtxt: text, modelName: "m").completed(with: mlp)
        }
        #expect(error.code == .failedPrecondition)
        #expect(error.message.contains(message), "\(error.message)")
    }

    @Test("without a config, a model with a dynamic first dimension batches (max_batch_size 4, as Triton)")
    func completion() throws {
        let config = try ModelConfiguration(name: "mlp").completed(with: mlp)
        #expect(config.maxBatchSize == 4)
        #expect(config.inputs == [.init(name: "input", datatype: .fp32, dims: [64])])
        #expect(config.outputs == [.init(name: "output", datatype: .fp32, dims: [16])])
        #expect(config.dynamicBatching != nil)

        let fixed = ModelSignature(
            inputs: [TensorSpec(name: "x", datatype: .int8, shape: [2, 3])],
            outputs: [TensorSpec(name: "y", datatype: .int8, shape: [2, 3])])
        let unbatched = try ModelConfiguration(name: "f").completed(with: fixed)
        #expect(unbatched.maxBatchSize == 0)
        #expect(unbatched.inputs[0].dims == [2, 3])
    }

    @Test("max_batch_size on a model without a batch dimension is refused")
    func batchingWithoutBatchDimension() throws {
        let fixed = ModelSignature(inputs: [TensorSpec(name: "x", datatype: .int8, shape: [2, 3])], outputs: [])
        let error = try #require(throws: FerryError.self) { try ModelConfiguration(name: "f", maxBatchSize: 4).completed(with: fixed) }
        #expect(error.message.contains("config field max_batch_size is 4, but the model's x has shape [2, 3]"))
    }

    @Test("version policies pick latest N, all, or specific versions")
    func versionPolicies() {
        #expect(ModelConfiguration.VersionPolicy.latest(1).select(from: [1, 3, 2]) == [3])
        #expect(ModelConfiguration.VersionPolicy.latest(2).select(from: [1, 3, 2]) == [3, 2])
        #expect(ModelConfiguration.VersionPolicy.all.select(from: [1, 3, 2]) == [3, 2, 1])
        #expect(ModelConfiguration.VersionPolicy.specific([1, 7]).select(from: [1, 3, 2]) == [1])
    }

    @Test("the configuration round-trips through Triton's ModelConfig message")
    func messageRoundTrip() throws {
        var config = try ModelConfiguration(name: "mlp").completed(with: mlp)
        config.instanceCount = 2
        config.instanceGroups = [.init(name: "mlp", kind: .cpu, count: 2)]
        config.versionPolicy = .all
        let text = config.message.textFormatString()
        #expect(try ModelConfiguration(pbtxt: text, modelName: "mlp") == config)
    }
}

@Suite("Triton configs with fields Ferry does not use")
struct TritonCompatibilityTests {
    @Test("a config with optimization and model_warmup sections still loads")
    func unknownFieldsAreSkipped() throws {
        let config = try ModelConfiguration(
            pbtxt: """
                name: "m"
                max_batch_size: 2
                optimization { execution_accelerators { cpu_execution_accelerator: [ { name: "openvino" } ] } }
                model_warmup [ { name: "w", batch_size: 1, inputs { key: "input" value: { data_type: TYPE_FP32, dims: [ 64 ], zero_data: true } } } ]
                """,
            modelName: "m"
        )
        #expect(config.maxBatchSize == 2)
        #expect(config.cpuAccelerators.map(\.name) == ["openvino"])
    }
}
