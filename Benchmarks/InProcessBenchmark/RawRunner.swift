import CONNXRuntime
import FerryONNXRuntime
import Foundation

/// The floor under Ferry's path: ONNX Runtime's C API called directly, with
/// the input value and the name arrays built once. Each call is Run, a read
/// of the output's data pointer, and the output's release — what any caller
/// of the C API must pay, so Ferry's overhead is the difference to this.
final class RawRunner {
    private let api: UnsafePointer<OrtApi>
    private let session: ONNXRuntimeSession
    private let buffer: UnsafeMutableBufferPointer<Float>
    private let input: OpaquePointer
    private let inputName: UnsafeMutablePointer<CChar>
    private let outputName: UnsafeMutablePointer<CChar>
    private let runOptions: OpaquePointer

    init(session: ONNXRuntimeSession, runtime: ONNXRuntime, shape: [Int], values: [Float]) {
        self.api = runtime.api
        self.session = session
        buffer = .allocate(capacity: values.count)
        _ = buffer.initialize(from: values)
        let dimensions = shape.map { Int64($0) }
        var value: OpaquePointer?
        let status = api.pointee.CreateTensorWithDataAsOrtValue!(
            runtime.cpuMemoryInfo, buffer.baseAddress, values.count * 4, dimensions, dimensions.count,
            ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &value
        )
        precondition(status == nil, "CreateTensorWithDataAsOrtValue failed")
        input = value!
        inputName = strdup(session.signature.inputs[0].name)
        outputName = strdup(session.signature.outputs[0].name)
        var options: OpaquePointer?
        precondition(api.pointee.CreateRunOptions!(&options) == nil)
        runOptions = options!
    }

    func run() {
        var output: OpaquePointer?
        var inputValue: OpaquePointer? = input
        var inputNames: UnsafePointer<CChar>? = UnsafePointer(inputName)
        var outputNames: UnsafePointer<CChar>? = UnsafePointer(outputName)
        let status = api.pointee.Run!(session.handle, runOptions, &inputNames, &inputValue, 1, &outputNames, 1, &output)
        precondition(status == nil, "Run failed")
        var data: UnsafeMutableRawPointer?
        _ = api.pointee.GetTensorMutableData!(output, &data)
        precondition(data != nil)
        api.pointee.ReleaseValue!(output)
    }

    deinit {
        api.pointee.ReleaseValue!(input)
        api.pointee.ReleaseRunOptions!(runOptions)
        free(inputName)
        free(outputName)
        buffer.deallocate()
    }
}
