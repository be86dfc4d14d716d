import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Reads the tensors of a v2 request or response: `{"name","datatype","shape",
/// "parameters"?, "data"}`, where a tensor with parameter `binary_data_size`
/// takes its bytes, in order, from the binary data after the JSON header
/// (Triton's binary tensor extension) — as a slice, without a copy.
struct V2TensorDecoder {
    let binary: Data
    /// "input" or "output", for messages.
    let role: String
    private var offset: Data.Index

    init(binary: Data, role: String) {
        self.binary = binary
        self.role = role
        self.offset = binary.startIndex
    }

    mutating func decode(_ object: JSONValue, index: Int) throws(FerryError) -> Tensor {
        guard case .object = object else {
            throw FerryError(.invalidArgument, "\(role) \(index) must be an object, not \(object.kindDescription)")
        }
        guard case .string(let name)? = object["name"] else {
            throw FerryError(.invalidArgument, "\(role) \(index) has no 'name' string")
        }
        guard case .string(let typeName)? = object["datatype"] else {
            throw FerryError(.invalidArgument, "\(role) '\(name)' has no 'datatype' string")
        }
        let datatype = try TensorHeader.datatype(typeName, role: role, tensor: name)
        let shape = try InferenceRequest.decodeShape(object["shape"], role: role, tensorName: name)
        let parameters = try InferenceRequest.decodeParameters(object["parameters"], owner: "\(role) '\(name)'")
        if let size = parameters["binary_data_size"] {
            guard let byteCount = size.intValue, byteCount >= 0 else {
                throw FerryError(.invalidArgument, "\(role) '\(name)': binary_data_size must be a non-negative integer")
            }
            guard object["data"] == nil else {
                throw FerryError(.invalidArgument, "\(role) '\(name)' has both 'data' and binary_data_size")
            }
            guard binary.endIndex - offset >= byteCount else {
                throw FerryError(
                    .invalidArgument,
                    "\(role) '\(name)' declares binary_data_size \(byteCount), but only \(binary.endIndex - offset) bytes of binary data remain"
                )
            }
            let bytes = binary[offset..<offset + Int(byteCount)]
            offset += Int(byteCount)
            return Tensor(name: name, datatype: datatype, shape: shape, data: bytes)
        }
        guard let data = object["data"] else {
            throw FerryError(.invalidArgument, "\(role) '\(name)' has no 'data' (and no binary_data_size)")
        }
        let bytes = try TensorJSONCoding.decode(data, datatype: datatype, shape: shape, tensorName: name)
        return Tensor(name: name, datatype: datatype, shape: shape, data: bytes)
    }

    /// Every byte of binary data must belong to a tensor.
    func finish(owner: String) throws(FerryError) {
        guard offset == binary.endIndex else {
            throw FerryError(
                .invalidArgument,
                "\(owner) carries \(binary.endIndex - offset) bytes of binary data beyond what its \(role)s' binary_data_size declare"
            )
        }
    }
}
