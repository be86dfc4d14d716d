import FerryCore
import FerryProtocol
import FerryServing
import Foundation
import SwiftProtobuf
import Testing

@Suite("model_warmup in config.pbtxt")
struct ModelWarmupTests {
    func config(_ warmup: String, maxBatchSize: Int = 8) throws(FerryError) -> ModelConfiguration {
        try ModelConfiguration(
            pbtxt: """
                name: "mlp"
                max_batch_size: \(maxBatchSize)
                input [{ name: "input" data_type: TYPE_FP32 dims: [64] }]
                model_warmup [\(warmup)]
                """, modelName: "mlp")
    }

    @Test("samples parse with their inputs sorted by name, and survive the config message")
    func parses() throws {
        let parsed = try config(
            """
            { name: "two" batch_size: 4 count: 3
              inputs { key: "b" value: { data_type: TYPE_INT64 dims: [2] random_data: true } }
              inputs { key: "a" value: { data_type: TYPE_FP32 dims: [64] input_data_file: "a.bin" } } }
            """)
        let warmup = try #require(parsed.warmups.first)
        #expect(warmup.name == "two" && warmup.batchSize == 4 && warmup.count == 3)
        #expect(warmup.inputs.map(\.name) == ["a", "b"])
        #expect(warmup.inputs[0].values == .file("a.bin") && warmup.inputs[1].values == .random)
        let again = try ModelConfiguration(pbtxt: try parsed.message.textFormatString(), modelName: "mlp")
        #expect(again.warmups == parsed.warmups)
    }

    @Test(
        "a sample that cannot be run is refused naming the field",
        arguments: [
            (#"{ batch_size: 1 inputs { key: "input" value: { data_type: TYPE_FP32 dims: [64] zero_data: true } } }"#, "without a name"),
            (#"{ name: "w" batch_size: 1 }"#, "has no inputs"),
            (#"{ name: "w" inputs { key: "input" value: { data_type: TYPE_FP32 dims: [-1] zero_data: true } } }"#, "must be fixed"),
            (#"{ name: "w" inputs { key: "input" value: { data_type: TYPE_FP32 dims: [64] } } }"#, "sets none of"),
            (#"{ name: "w" inputs { key: "input" value: { data_type: TYPE_FP32 dims: [64] input_data_file: "../x" } } }"#, "inside the model's warmup directory"),
            (#"{ name: "w" inputs { key: "input" value: { data_type: TYPE_FP32 dims: [64] input_data_file: "/etc/passwd" } } }"#, "inside the model's warmup directory"),
        ])
    func refused(warmup: String, problem: String) {
        #expect {
            try config(warmup)
        } throws: { error in
            (error as? FerryError)?.message.contains(problem) == true
        }
    }

    @Test("the request has the batch dimension, zeros or small finite values, the same on every load")
    func request() throws {
        let parsed = try config(
            #"{ name: "w" batch_size: 4 inputs { key: "input" value: { data_type: TYPE_FP32 dims: [64] random_data: true } } }"#)
        let request = try parsed.warmups[0].request(for: parsed, modelDirectory: nil)
        #expect(request.inputs[0].shape == TensorShape([4, 64]))
        let values = request.inputs[0].data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        #expect(values.count == 256 && values.allSatisfy { $0.isFinite && $0 >= 0 && $0 < 1 } && Set(values).count > 1)
        #expect(try parsed.warmups[0].request(for: parsed, modelDirectory: nil).inputs[0].data == request.inputs[0].data)

        let zeros = try config(#"{ name: "z" batch_size: 2 inputs { key: "input" value: { data_type: TYPE_FP32 dims: [64] zero_data: true } } }"#)
        #expect(try zeros.warmups[0].request(for: zeros, modelDirectory: nil).inputs[0].data == Data(count: 2 * 64 * 4))

        let oversized = try config(#"{ name: "big" batch_size: 9 inputs { key: "input" value: { data_type: TYPE_FP32 dims: [64] zero_data: true } } }"#)
        #expect(throws: FerryError.self) { try oversized.warmups[0].request(for: oversized, modelDirectory: nil) }
    }

    @Test("input_data_file is read from the model's warmup directory and must hold the sample exactly")
    func dataFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-warmup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("warmup"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let parsed = try config(
            #"{ name: "f" batch_size: 1 inputs { key: "input" value: { data_type: TYPE_FP32 dims: [64] input_data_file: "x.bin" } } }"#)
        try Data(count: 64 * 4).write(to: directory.appendingPathComponent("warmup/x.bin"))
        #expect(try parsed.warmups[0].request(for: parsed, modelDirectory: directory.path).inputs[0].data.count == 256)
        try Data(count: 10).write(to: directory.appendingPathComponent("warmup/x.bin"))
        #expect {
            try parsed.warmups[0].request(for: parsed, modelDirectory: directory.path)
        } throws: { error in
            (error as? FerryError)?.message.contains("has 10 bytes") == true
        }
    }
}
