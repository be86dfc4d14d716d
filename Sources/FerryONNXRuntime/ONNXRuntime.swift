import CONNXRuntime
import FerryCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A loaded ONNX Runtime library with its process-wide environment.
///
/// `@unchecked Sendable`: every stored property is set once in `init` and
/// never changed; the `OrtApi` table is immutable and `OrtEnv`, the CPU memory
/// info and the default allocator are documented as usable from any thread.
public final class ONNXRuntime: @unchecked Sendable {
    /// The `OrtApi` version Ferry's header declares (ONNX Runtime 1.31).
    public static let apiVersion: UInt32 = UInt32(FERRY_ORT_API_VERSION)

    public let libraryPath: String
    public let version: String

    package let api: UnsafePointer<OrtApi>
    package let environment: OpaquePointer
    package let cpuMemoryInfo: OpaquePointer
    package let allocator: OpaquePointer
    /// Threads of the pool shared by sessions that use it
    /// (`ONNXRuntimeOptions.threadPool == .shared`).
    public let sharedPoolThreads: Int

    private static let loaded = Mutex<[String: ONNXRuntime]>([:])

    /// Loads the library once per process (per explicit path) and reuses it.
    /// Its environment holds a thread pool of `sharedPoolThreads` threads
    /// (the caller's included; 0: one per physical core) for the sessions
    /// that share one; the first load decides its size.
    /// `preferGPUBuild` looks for `scripts/install-onnxruntime --gpu`'s copy first.
    public static func load(libraryPath: String? = nil, sharedPoolThreads: Int = 0, preferGPUBuild: Bool = false) throws(FerryError)
        -> ONNXRuntime
    {
        let key = (libraryPath ?? "") + (preferGPUBuild ? "\u{0}gpu" : "")
        return try loaded.withLock { cache throws(FerryError) -> ONNXRuntime in
            if let runtime = cache[key] { return runtime }
            var locator = ONNXRuntimeLibraryLocator(explicitPath: libraryPath)
            locator.gpuBuild = preferGPUBuild
            let runtime = try ONNXRuntime(locator: locator, sharedPoolThreads: sharedPoolThreads)
            cache[key] = runtime
            return runtime
        }
    }

    private init(locator: ONNXRuntimeLibraryLocator, sharedPoolThreads: Int) throws(FerryError) {
        let (handle, path) = try locator.open()
        var environment: OpaquePointer?
        var memoryInfo: OpaquePointer?
        var table: UnsafePointer<OrtApi>?
        var loaded = false
        // A library that loaded fine stays loaded for the life of the process
        // (runtimes are cached); one that failed half-way is given back.
        defer {
            if !loaded {
                if let environment { table?.pointee.ReleaseEnv!(environment) }
                if let memoryInfo { table?.pointee.ReleaseMemoryInfo!(memoryInfo) }
                dlclose(handle)
            }
        }
        guard let symbol = dlsym(handle, "OrtGetApiBase") else {
            throw FerryError(.failedPrecondition, "\(path) is not ONNX Runtime: it has no OrtGetApiBase symbol")
        }
        let getApiBase = unsafeBitCast(symbol, to: OrtGetApiBaseFunction.self)
        guard let base = getApiBase(), let versionString = base.pointee.GetVersionString?() else {
            throw FerryError(.failedPrecondition, "\(path): OrtGetApiBase returned nothing")
        }
        let version = String(cString: versionString)
        guard let api = base.pointee.GetApi?(Self.apiVersion) else {
            throw FerryError(
                .failedPrecondition,
                "\(path) is ONNX Runtime \(version), which lacks C API version \(Self.apiVersion); Ferry needs ONNX Runtime 1.31 or newer"
            )
        }
        table = api
        self.api = api
        self.libraryPath = path
        self.version = version
        self.sharedPoolThreads = sharedPoolThreads

        var allocator: OpaquePointer?
        do throws(ONNXRuntimeFailure) {
            // At ERROR level: ONNX Runtime would otherwise print warnings in colour
            // to stderr; Ferry reports failures through its own errors.
            environment = try Self.makeEnvironment(api, sharedPoolThreads: sharedPoolThreads)
            try Self.check(
                api,
                api.pointee.CreateCpuMemoryInfo!(OrtArenaAllocator, OrtMemTypeDefault, &memoryInfo),
                "CreateCpuMemoryInfo"
            )
            try Self.check(api, api.pointee.GetAllocatorWithDefaultOptions!(&allocator), "GetAllocatorWithDefaultOptions")
        } catch {
            throw FerryError(
                .failedPrecondition, "\(path): ONNX Runtime \(error.operation) failed: \(error.message)", backendCode: error.code)
        }
        self.environment = environment!
        self.cpuMemoryInfo = memoryInfo!
        self.allocator = allocator!
        loaded = true
    }

    /// The process's `OrtEnv`, with the pool sessions may share. Its threads
    /// do not spin while they wait for work: spinning took the cores from the
    /// network threads and the other instance (ResNet-50 on 2 cores, 2
    /// instances on the pool: 8 concurrent requests 29 images/s spinning, 34
    /// not), and won nothing for a lone request (29.9 against 30.1 ms).
    private static func makeEnvironment(_ api: UnsafePointer<OrtApi>, sharedPoolThreads: Int) throws(ONNXRuntimeFailure) -> OpaquePointer {
        var threading: OpaquePointer?
        try check(api, api.pointee.CreateThreadingOptions!(&threading), "CreateThreadingOptions")
        defer { api.pointee.ReleaseThreadingOptions!(threading) }
        try check(api, api.pointee.SetGlobalIntraOpNumThreads!(threading, Int32(clamping: sharedPoolThreads)), "SetGlobalIntraOpNumThreads")
        try check(api, api.pointee.SetGlobalInterOpNumThreads!(threading, 1), "SetGlobalInterOpNumThreads")
        try check(api, api.pointee.SetGlobalSpinControl!(threading, 0), "SetGlobalSpinControl")
        var environment: OpaquePointer?
        try check(
            api, api.pointee.CreateEnvWithGlobalThreadPools!(ORT_LOGGING_LEVEL_ERROR, "ferry", threading, &environment),
            "CreateEnvWithGlobalThreadPools")
        return environment!
    }

    /// Turns a returned `OrtStatus*` into a thrown error, releasing the status.
    func check(_ status: OpaquePointer?, _ operation: @autoclosure () -> String) throws(ONNXRuntimeFailure) {
        try Self.check(api, status, operation())
    }

    private static func check(
        _ api: UnsafePointer<OrtApi>,
        _ status: OpaquePointer?,
        _ operation: @autoclosure () -> String
    ) throws(ONNXRuntimeFailure) {
        guard let status else { return }
        let code = api.pointee.GetErrorCode!(status)
        let message = api.pointee.GetErrorMessage!(status).map { String(cString: $0) } ?? ""
        api.pointee.ReleaseStatus!(status)
        throw ONNXRuntimeFailure(operation: operation(), code: Int(code.rawValue), message: message)
    }

    /// Reads a string ONNX Runtime allocated with the default allocator, and frees it.
    func takeString(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        defer { _ = api.pointee.AllocatorFree!(allocator, pointer) }
        return String(cString: pointer)
    }
}
