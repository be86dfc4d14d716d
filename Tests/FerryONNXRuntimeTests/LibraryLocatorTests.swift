import FerryONNXRuntime
import Testing

@Suite("Where ONNX Runtime's library is looked for")
struct LibraryLocatorTests {
    func locator(explicit: String? = nil, environment: [String: String] = [:]) -> ONNXRuntimeLibraryLocator {
        var locator = ONNXRuntimeLibraryLocator(explicitPath: explicit)
        locator.environment = environment
        locator.currentDirectory = "/work/app"
        locator.executableDirectory = "/opt/ferry/bin"
        return locator
    }

    @Test("an explicit path is the only candidate")
    func explicitPath() {
        let candidates = locator(explicit: "/x/libonnxruntime.so", environment: ["FERRY_ONNXRUNTIME_LIB": "/y.so"]).candidates()
        #expect(candidates.map { $0.path } == ["/x/libonnxruntime.so"])
    }

    @Test("FERRY_ONNXRUNTIME_LIB is the only candidate when no path is given")
    func environmentVariable() {
        let candidates = locator(environment: ["FERRY_ONNXRUNTIME_LIB": "/y/libonnxruntime.so.1"]).candidates()
        #expect(candidates.map { $0.path } == ["/y/libonnxruntime.so.1"])
        #expect(candidates.map { $0.source } == ["FERRY_ONNXRUNTIME_LIB"])
    }

    @Test("otherwise: .deps in the working directory and above the executable, next to it, ../lib, then the system")
    func searchOrder() {
        let paths = locator().candidates().map { $0.path }
        let order = [
            "/work/app/.deps/onnxruntime/lib/libonnxruntime.so.1.31.1",
            "/opt/ferry/bin/.deps/onnxruntime/lib/libonnxruntime.so.1.31.1",
            "/opt/ferry/.deps/onnxruntime/lib/libonnxruntime.so.1.31.1",
            "/opt/ferry/bin/libonnxruntime.so.1.31.1",
            "/opt/ferry/bin/libonnxruntime.so",
            "/opt/ferry/lib/libonnxruntime.so.1.31.1",
            "libonnxruntime.so.1",
            "libonnxruntime.so",
        ]
        let positions = order.map { paths.firstIndex(of: $0) }
        #expect(positions.allSatisfy { $0 != nil }, "\(paths)")
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
        #expect(Set(paths).count == paths.count)
    }

    @Test("for GPU serving and --gpu images, the GPU build in .deps comes before the CPU build")
    func gpuBuildFirst() {
        var gpu = locator()
        gpu.gpuBuild = true
        let paths = gpu.candidates().map { $0.path }
        let order = [
            "/work/app/.deps/onnxruntime-gpu/lib/libonnxruntime.so.1.31.1",
            "/opt/ferry/.deps/onnxruntime-gpu/lib/libonnxruntime.so.1.31.1",
            "/work/app/.deps/onnxruntime/lib/libonnxruntime.so.1.31.1",
            "/opt/ferry/bin/libonnxruntime.so.1.31.1",
        ]
        let positions = order.map { paths.firstIndex(of: $0) }
        #expect(positions.allSatisfy { $0 != nil }, "\(paths)")
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
        #expect(!locator().candidates().contains { $0.path.contains("onnxruntime-gpu") })
    }
}
