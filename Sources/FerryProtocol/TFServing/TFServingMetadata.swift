import FerryCore
import SwiftProtobuf

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// TF Serving's model metadata (`GetModelMetadata`, `GET …/metadata`): the
/// model's one signature, `serving_default`, as a SignatureDef whose inputs
/// and outputs are the model's tensors as clients send them (-1 for
/// variable dimensions).
public enum TFServingMetadata {
    public static let field = "signature_def"
    static let predictMethod = "tensorflow/serving/predict"

    public static func signatureDef(_ signature: ModelSignature) -> Tensorflow_SignatureDef {
        func info(_ spec: TensorSpec) -> Tensorflow_TensorInfo {
            var info = Tensorflow_TensorInfo()
            info.name = spec.name
            info.dtype = spec.datatype.tensorflow
            info.tensorShape = TFServingTensorProto.shape(spec.shape)
            return info
        }
        var definition = Tensorflow_SignatureDef()
        definition.inputs = Dictionary(uniqueKeysWithValues: signature.inputs.map { ($0.name, info($0)) })
        definition.outputs = Dictionary(uniqueKeysWithValues: signature.outputs.map { ($0.name, info($0)) })
        definition.methodName = predictMethod
        return definition
    }

    public static func modelSpec(name: String, version: String) -> Tensorflow_Serving_ModelSpec {
        var spec = Tensorflow_Serving_ModelSpec()
        spec.name = name
        if let number = Int64(version) { spec.version = Google_Protobuf_Int64Value(number) }
        return spec
    }

    public static func message(name: String, version: String, signature: ModelSignature) throws(FerryError)
        -> Tensorflow_Serving_GetModelMetadataResponse
    {
        var map = Tensorflow_Serving_SignatureDefMap()
        map.signatureDef = [TFServingPredict.signatureName: signatureDef(signature)]
        var response = Tensorflow_Serving_GetModelMetadataResponse()
        response.modelSpec = modelSpec(name: name, version: version)
        do {
            response.metadata = [field: try Google_Protobuf_Any(message: map)]
        } catch {
            throw FerryError(.internal, "could not pack the signature map: \(error)")
        }
        return response
    }

    /// TF Serving's REST metadata document: the same message as JSON, with
    /// int64 values as strings.
    public static func json(name: String, version: String, signature: ModelSignature) -> Data {
        let definition = signatureDef(signature)
        var writer = JSONWriter()
        writer.object { object in
            object.member("model_spec") { writer in
                writer.object { spec in
                    spec.member("name") { $0.string(name) }
                    spec.member("signature_name") { $0.string("") }
                    spec.member("version") { $0.string(version) }
                }
            }
            object.member("metadata") { writer in
                writer.object { metadata in
                    metadata.member(field) { writer in
                        writer.object { map in
                            map.member(field) { writer in
                                writer.object { signatures in
                                    signatures.member(TFServingPredict.signatureName) { writeSignature(definition, signature, to: &$0) }
                                }
                            }
                        }
                    }
                }
            }
        }
        return writer.data
    }

    private static func writeSignature(_ definition: Tensorflow_SignatureDef, _ signature: ModelSignature, to writer: inout JSONWriter) {
        func tensors(_ specs: [TensorSpec], to writer: inout JSONWriter) {
            writer.object { object in
                for spec in specs {
                    object.member(spec.name) { writer in
                        writer.object { info in
                            info.member("dtype") { $0.string(spec.datatype.tensorflowName) }
                            info.member("tensor_shape") { writer in
                                writer.object { shape in
                                    shape.member("dim") { writer in
                                        writer.list(spec.shape.dimensions) { writer, size in
                                            writer.object { dim in
                                                dim.member("size") { $0.string(String(size)) }
                                                dim.member("name") { $0.string("") }
                                            }
                                        }
                                    }
                                    shape.member("unknown_rank") { $0.bool(false) }
                                }
                            }
                            info.member("name") { $0.string(spec.name) }
                        }
                    }
                }
            }
        }
        writer.object { object in
            object.member("inputs") { tensors(signature.inputs, to: &$0) }
            object.member("outputs") { tensors(signature.outputs, to: &$0) }
            object.member("method_name") { $0.string(definition.methodName) }
        }
    }
}
