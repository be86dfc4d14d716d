import CONNXRuntime
import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Converts `OrtValue` outputs into tensors.
///
/// Tensors are copied out (ONNX Runtime owns their memory and frees it with
/// the value). Sequences and maps — what scikit-learn classifiers converted
/// with ZipMap return — become a `BYTES` tensor with one JSON document per
/// sequence element, so every output fits the v2 protocol's tensor model.
enum OutputValue {
    /// Takes ownership of `value`: a numeric tensor's memory becomes the
    /// returned tensor's `Data` without a copy (the `OrtValue` is released when
    /// that `Data` goes away); anything else is converted and released here.
    static func tensor(
        taking value: OpaquePointer,
        name: String,
        runtime: ONNXRuntime,
        model: String,
        isInputMemory: (UnsafeRawPointer) -> Bool = { _ in false }
    ) throws(FerryError) -> Tensor {
        var owned = true
        defer { if owned { runtime.api.pointee.ReleaseValue!(value) } }
        do throws(ONNXRuntimeFailure) {
            var type = ONNX_TYPE_UNKNOWN
            try runtime.check(runtime.api.pointee.GetValueType!(value, &type), "GetValueType")
            switch type {
            case ONNX_TYPE_TENSOR:
                return try readTensor(value, name: name, runtime: runtime, transferringOwnership: &owned, isInputMemory: isInputMemory)
            case ONNX_TYPE_SEQUENCE:
                let documents = try elementDocuments(value, runtime: runtime)
                return Tensor(name: name, shape: [documents.count], elements: documents)
            case ONNX_TYPE_MAP:
                var writer = JSONWriter()
                try writeJSON(value, to: &writer, runtime: runtime)
                return Tensor(name: name, shape: [1], elements: [writer.bytes])
            default:
                throw ONNXRuntimeFailure(operation: "output", code: 9, message: "ONNX value type \(type.rawValue) is not supported")
            }
        } catch {
            throw FerryError(
                .internal,
                "model '\(model)': cannot read output '\(name)': ONNX Runtime \(error.codeName) in \(error.operation): \(error.message)",
                backendCode: error.code
            )
        }
    }

    /// Reads a tensor value. With `transferringOwnership` set, a numeric
    /// tensor's buffer is wrapped instead of copied, and the flag is cleared to
    /// say the returned `Data` now releases the value.
    private static func readTensor(
        _ value: OpaquePointer,
        name: String,
        runtime: ONNXRuntime,
        transferringOwnership: UnsafeMutablePointer<Bool>? = nil,
        isInputMemory: (UnsafeRawPointer) -> Bool = { _ in false }
    ) throws(ONNXRuntimeFailure) -> Tensor {
        let api = runtime.api.pointee
        var info: OpaquePointer?
        try runtime.check(api.GetTensorTypeAndShape!(value, &info), "GetTensorTypeAndShape")
        defer { api.ReleaseTensorTypeAndShapeInfo!(info) }
        var elementType = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED
        try runtime.check(api.GetTensorElementType!(info, &elementType), "GetTensorElementType")
        var rank = 0
        try runtime.check(api.GetDimensionsCount!(info, &rank), "GetDimensionsCount")
        let shape = try withUnsafeTemporaryAllocation(of: Int64.self, capacity: rank) { buffer throws(ONNXRuntimeFailure) in
            try runtime.check(api.GetDimensions!(info, buffer.baseAddress, rank), "GetDimensions")
            return TensorShape(buffer.map { Int($0) })
        }
        // The element count follows from the shape; no need to ask ONNX Runtime.
        let count = shape.elementCount ?? 0

        guard let datatype = ElementType.dataType(elementType) else {
            throw ONNXRuntimeFailure(
                operation: "output",
                code: 9,
                message: "element type \(ElementType.onnxName(elementType)) has no Open Inference Protocol datatype"
            )
        }
        if datatype == .bytes {
            return Tensor(name: name, datatype: .bytes, shape: shape, data: try readStrings(value, count: count, runtime: runtime))
        }
        let byteCount = count * datatype.elementSize!
        guard byteCount > 0 else { return Tensor(name: name, datatype: datatype, shape: shape, data: Data()) }
        var address: UnsafeMutableRawPointer?
        try runtime.check(api.GetTensorMutableData!(value, &address), "GetTensorMutableData")
        guard let owned = transferringOwnership, owned.pointee, !isInputMemory(address!) else {
            return Tensor(name: name, datatype: datatype, shape: shape, data: Data(bytes: address!, count: byteCount))
        }
        owned.pointee = false
        let data = Data(bytesNoCopy: address!, count: byteCount, deallocator: .custom { _, _ in runtime.api.pointee.ReleaseValue!(value) })
        return Tensor(name: name, datatype: datatype, shape: shape, data: data)
    }

    /// Reads a string tensor into the v2 BYTES serialization.
    private static func readStrings(_ value: OpaquePointer, count: Int, runtime: ONNXRuntime) throws(ONNXRuntimeFailure) -> Data {
        let strings = try stringElements(value, count: count, runtime: runtime)
        return BytesTensorCoding.encode(strings)
    }

    private static func stringElements(_ value: OpaquePointer, count: Int, runtime: ONNXRuntime) throws(ONNXRuntimeFailure) -> [ArraySlice<
        UInt8
    >] {
        guard count > 0 else { return [] }
        var total = 0
        try runtime.check(runtime.api.pointee.GetStringTensorDataLength!(value, &total), "GetStringTensorDataLength")
        var content = [UInt8](repeating: 0, count: max(total, 1))
        var offsets = [Int](repeating: 0, count: count)
        try runtime.check(
            runtime.api.pointee.GetStringTensorContent!(value, &content, total, &offsets, count),
            "GetStringTensorContent"
        )
        return (0..<count).map { index in
            let end = index + 1 < count ? offsets[index + 1] : total
            return content[offsets[index]..<end]
        }
    }

    private static func elementCount(_ value: OpaquePointer, runtime: ONNXRuntime) throws(ONNXRuntimeFailure) -> Int {
        var count = 0
        try runtime.check(runtime.api.pointee.GetValueCount!(value, &count), "GetValueCount")
        return count
    }

    private static func child(_ value: OpaquePointer, _ index: Int, runtime: ONNXRuntime) throws(ONNXRuntimeFailure) -> OpaquePointer {
        var element: OpaquePointer?
        try runtime.check(runtime.api.pointee.GetValue!(value, Int32(index), runtime.allocator, &element), "GetValue")
        return element!
    }

    /// The elements of a sequence, each as one JSON document.
    private static func elementDocuments(_ sequence: OpaquePointer, runtime: ONNXRuntime) throws(ONNXRuntimeFailure) -> [[UInt8]] {
        var documents: [[UInt8]] = []
        for index in 0..<(try elementCount(sequence, runtime: runtime)) {
            let element = try child(sequence, index, runtime: runtime)
            defer { runtime.api.pointee.ReleaseValue!(element) }
            var writer = JSONWriter()
            try writeJSON(element, to: &writer, runtime: runtime)
            documents.append(writer.bytes)
        }
        return documents
    }

    /// Writes a map as a JSON object (keys as strings), a sequence as an
    /// array, and a tensor as a flat array of its elements.
    private static func writeJSON(_ value: OpaquePointer, to writer: inout JSONWriter, runtime: ONNXRuntime) throws(ONNXRuntimeFailure) {
        var type = ONNX_TYPE_UNKNOWN
        try runtime.check(runtime.api.pointee.GetValueType!(value, &type), "GetValueType")
        switch type {
        case ONNX_TYPE_MAP:
            // A map value holds two tensors of equal length: keys at 0, values at 1.
            let keysValue = try child(value, 0, runtime: runtime)
            defer { runtime.api.pointee.ReleaseValue!(keysValue) }
            let valuesValue = try child(value, 1, runtime: runtime)
            defer { runtime.api.pointee.ReleaseValue!(valuesValue) }
            let keys = try readTensor(keysValue, name: "keys", runtime: runtime)
            let values = try readTensor(valuesValue, name: "values", runtime: runtime)
            let keyStrings = try jsonKeys(keys)
            guard keyStrings.count == values.shape.elementCount else {
                throw ONNXRuntimeFailure(operation: "map", code: 1, message: "map keys and values differ in length")
            }
            var failure: FerryError?
            writer.object { object in
                for (index, key) in keyStrings.enumerated() {
                    object.member(key) { writer in
                        do throws(FerryError) {
                            try TensorJSONCoding.writeElement(values, at: index, to: &writer)
                        } catch {
                            failure = error
                        }
                    }
                }
            }
            if let failure { throw ONNXRuntimeFailure(operation: "map", code: 1, message: failure.message) }
        case ONNX_TYPE_SEQUENCE:
            let documents = try elementDocuments(value, runtime: runtime)
            writer.list(documents) { writer, bytes in writer.raw(String(decoding: bytes, as: UTF8.self)) }
        case ONNX_TYPE_TENSOR:
            try write(try readTensor(value, name: "element", runtime: runtime), to: &writer)
        default:
            throw ONNXRuntimeFailure(operation: "output", code: 9, message: "ONNX value type \(type.rawValue) is not supported")
        }
    }

    private static func write(_ tensor: Tensor, to writer: inout JSONWriter) throws(ONNXRuntimeFailure) {
        do throws(FerryError) {
            try TensorJSONCoding.write(tensor, to: &writer)
        } catch {
            throw ONNXRuntimeFailure(operation: "output", code: 1, message: error.message)
        }
    }

    /// JSON object keys must be strings: string keys as they are, numbers as their text.
    private static func jsonKeys(_ keys: Tensor) throws(ONNXRuntimeFailure) -> [String] {
        do throws(FerryError) {
            if keys.datatype == .bytes {
                return try keys.byteElements().map { String(decoding: $0, as: UTF8.self) }
            }
            return try (0..<(keys.shape.elementCount ?? 0)).map { index throws(FerryError) in
                var writer = JSONWriter()
                try TensorJSONCoding.writeElement(keys, at: index, to: &writer)
                return String(decoding: writer.bytes, as: UTF8.self)
            }
        } catch {
            throw ONNXRuntimeFailure(operation: "map", code: 1, message: error.message)
        }
    }
}
