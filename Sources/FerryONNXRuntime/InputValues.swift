import CONNXRuntime
import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Builds the `OrtValue`s for a run's inputs.
///
/// Fixed-size tensors are handed to ONNX Runtime as views of the request's own
/// bytes (`CreateTensorWithDataAsOrtValue`), so those bytes must stay pinned
/// until `Run` returns: the values exist only inside `with`, nested inside
/// each tensor's `withUnsafeBytes`. String tensors are copied, because ONNX
/// Runtime keeps them as `std::string`s.
enum InputValues {
    static func with<Result>(
        _ tensors: [Tensor],
        runtime: ONNXRuntime,
        model: String,
        _ body: (UnsafeMutableBufferPointer<OpaquePointer?>) throws(FerryError) -> Result
    ) throws(FerryError) -> Result {
        try withUnsafeTemporaryAllocation(of: OpaquePointer?.self, capacity: tensors.count) { values throws(FerryError) -> Result in
            values.initialize(repeating: nil)
            defer { for case let value? in values { runtime.api.pointee.ReleaseValue!(value) } }
            return try pin(tensors, from: 0, values: values, runtime: runtime, model: model, body)
        }
    }

    private static func pin<Result>(
        _ tensors: [Tensor],
        from index: Int,
        values: UnsafeMutableBufferPointer<OpaquePointer?>,
        runtime: ONNXRuntime,
        model: String,
        _ body: (UnsafeMutableBufferPointer<OpaquePointer?>) throws(FerryError) -> Result
    ) throws(FerryError) -> Result {
        guard index < tensors.count else { return try body(values) }
        let tensor = tensors[index]
        if tensor.datatype == .bytes {
            values[index] = try stringValue(tensor, runtime: runtime, model: model)
            return try pin(tensors, from: index + 1, values: values, runtime: runtime, model: model, body)
        }
        // `withUnsafeBytes` rethrows untyped errors, so the typed result travels in a Result.
        let outcome = tensor.data.withUnsafeBytes { bytes -> Swift.Result<Result, FerryError> in
            do throws(FerryError) {
                values[index] = try viewValue(tensor, bytes: bytes, runtime: runtime, model: model)
                return .success(try pin(tensors, from: index + 1, values: values, runtime: runtime, model: model, body))
            } catch {
                return .failure(error)
            }
        }
        return try outcome.get()
    }

    /// A tensor whose data is a view of `bytes` (no copy).
    private static func viewValue(
        _ tensor: Tensor,
        bytes: UnsafeRawBufferPointer,
        runtime: ONNXRuntime,
        model: String
    ) throws(FerryError) -> OpaquePointer {
        let elementType = ElementType.onnxType(tensor.datatype)
        // The bytes must be exactly what the shape says: ONNX Runtime reads the
        // shape's worth from a view, and the copy below writes that many.
        let elements = tensor.shape.elementCount ?? -1
        guard let size = tensor.datatype.elementSize, elements >= 0, bytes.count == elements * size else {
            throw FerryError(
                .invalidArgument,
                "input '\(tensor.name)' of model '\(model)' holds \(bytes.count) bytes, which shape \(tensor.shape) of \(tensor.datatype.rawValue) does not match"
            )
        }
        var value: OpaquePointer?
        do throws(ONNXRuntimeFailure) {
            try tensor.shape.withInt64Dimensions { shape throws(ONNXRuntimeFailure) in
                // ONNX Runtime's kernels assume naturally aligned elements; a slice of a
                // network buffer need not be, so such bytes are copied, as are empty ones.
                let alignment = tensor.datatype.elementSize ?? 1
                if let address = bytes.baseAddress, bytes.count > 0, Int(bitPattern: address) % alignment == 0 {
                    try runtime.check(
                        runtime.api.pointee.CreateTensorWithDataAsOrtValue!(
                            runtime.cpuMemoryInfo, UnsafeMutableRawPointer(mutating: address), bytes.count, shape.baseAddress, shape.count,
                            elementType, &value
                        ),
                        "CreateTensorWithDataAsOrtValue"
                    )
                } else {
                    try runtime.check(
                        runtime.api.pointee.CreateTensorAsOrtValue!(runtime.allocator, shape.baseAddress, shape.count, elementType, &value),
                        "CreateTensorAsOrtValue"
                    )
                    if let source = bytes.baseAddress, bytes.count > 0 {
                        var destination: UnsafeMutableRawPointer?
                        try runtime.check(runtime.api.pointee.GetTensorMutableData!(value, &destination), "GetTensorMutableData")
                        destination!.copyMemory(from: source, byteCount: bytes.count)
                    }
                }
            }
        } catch {
            throw error.runError(model: model, input: tensor.name)
        }
        return value!
    }

    /// A string tensor, filled from the v2 BYTES serialization.
    private static func stringValue(_ tensor: Tensor, runtime: ONNXRuntime, model: String) throws(FerryError) -> OpaquePointer {
        let elements = try BytesTensorCoding.decode(tensor.data, tensorName: tensor.name)
        // FillStringTensor reads C strings, so each element is copied with a
        // terminating NUL; an element holding a NUL would be cut short.
        var storage: [CChar] = []
        storage.reserveCapacity(tensor.data.count)
        var offsets: [Int] = []
        offsets.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            if element.contains(0) {
                throw FerryError(
                    .invalidArgument,
                    "input '\(tensor.name)' of model '\(model)': BYTES element \(index) contains a NUL byte, which ONNX string tensors cannot hold"
                )
            }
            offsets.append(storage.count)
            storage.append(contentsOf: element.map { CChar(bitPattern: $0) })
            storage.append(0)
        }
        let shape = tensor.shape.dimensions.map { Int64($0) }
        var value: OpaquePointer?
        do throws(ONNXRuntimeFailure) {
            try runtime.check(
                runtime.api.pointee.CreateTensorAsOrtValue!(
                    runtime.allocator, shape, shape.count, ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING, &value
                ),
                "CreateTensorAsOrtValue"
            )
            let status = storage.withUnsafeBufferPointer { buffer in
                let pointers: [UnsafePointer<CChar>?] = offsets.map { buffer.baseAddress! + $0 }
                return runtime.api.pointee.FillStringTensor!(value, pointers, pointers.count)
            }
            try runtime.check(status, "FillStringTensor")
        } catch {
            if let value { runtime.api.pointee.ReleaseValue!(value) }
            throw error.runError(model: model, input: tensor.name)
        }
        return value!
    }
}

extension TensorShape {
    /// The dimensions as `int64_t`s on the stack, for ONNX Runtime calls.
    func withInt64Dimensions<Result, Failure: Error>(
        _ body: (UnsafeBufferPointer<Int64>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try withUnsafeTemporaryAllocation(of: Int64.self, capacity: rank) { buffer throws(Failure) -> Result in
            for (index, dimension) in dimensions.enumerated() { buffer[index] = Int64(dimension) }
            return try body(UnsafeBufferPointer(buffer))
        }
    }
}
