import FerryCore
import FerryONNXRuntime
import Foundation
import Testing

@Suite("Model signature and metadata")
struct SignatureTests {
    @Test("signature matches what Python onnxruntime reports", arguments: Fixtures.caseFiles)
    func signatureMatchesReference(_ model: String) throws {
        let session = try Fixtures.session(model)
        let document = try Fixtures.document(model)
        let reference = try #require(document["signature"])
        for (specs, key) in [(session.signature.inputs, "inputs"), (session.signature.outputs, "outputs")] {
            let expected = try #require(reference[key]?.arrayValue)
            #expect(specs.count == expected.count, "\(key) count")
            for (spec, entry) in zip(specs, expected) {
                #expect(spec.name == entry["name"]?.stringValue)
                #expect(spec.datatype.rawValue == entry["datatype"]?.stringValue, "\(spec.name)")
                #expect(.array(spec.shape.dimensions.map { .number(String($0)) }) == entry["shape"], "\(spec.name) shape")
                #expect(
                    .array(spec.dimensionNames.map { $0.map(JSONValue.string) ?? .null }) == entry["dim_names"], "\(spec.name) dim names")
                #expect(spec.backendType == entry["onnx_type"]?.stringValue, "\(spec.name) onnx type")
            }
        }
    }

    @Test("metadata matches what Python onnxruntime reports", arguments: Fixtures.caseFiles)
    func metadataMatchesReference(_ model: String) throws {
        let metadata = try Fixtures.session(model).metadata
        let reference = try #require(try Fixtures.document(model)["metadata"])
        #expect(metadata.producerName == reference["producer_name"]?.stringValue)
        #expect(metadata.graphName == reference["graph_name"]?.stringValue)
        #expect(metadata.domain == reference["domain"]?.stringValue)
        #expect(metadata.description == reference["description"]?.stringValue)
        if case .number(let literal)? = reference["version"] {
            #expect(metadata.version == Int64(literal))
        } else {
            #expect(metadata.version == nil)
        }
        guard case .object(let custom)? = reference["custom"] else {
            Issue.record("no custom metadata object")
            return
        }
        #expect(metadata.custom == custom.mapValues { $0.stringValue ?? "" })
    }

    @Test("symbolic dimensions are -1 with their names")
    func symbolicDimensions() throws {
        let signature = try Fixtures.session("symbolic_dims").signature
        let features = try #require(signature.input(named: "features"))
        #expect(features.shape == [-1, -1, 8])
        #expect(features.dimensionNames == ["batch", "seq", nil])
        #expect(features.shapeDescription == "[batch, seq, 8]")
    }

    @Test("custom metadata of the MLP is readable")
    func customMetadata() throws {
        let metadata = try Fixtures.session("mlp").metadata
        #expect(metadata.custom["author"] == "ferry-tests")
        #expect(metadata.version == 3)
    }
}
