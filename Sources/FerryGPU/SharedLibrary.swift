#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A library opened with `dlopen` and kept for the life of the process: the
/// driver libraries are loaded once and never closed, as CUDA itself does.
struct SharedLibrary: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    let name: String

    /// Opens `name`, or returns why the loader could not.
    static func open(_ name: String) -> Result<SharedLibrary, LoadFailure> {
        guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
            return .failure(LoadFailure(message: dlerror().map { String(cString: $0) } ?? "dlopen failed"))
        }
        return .success(SharedLibrary(handle: handle, name: name))
    }

    struct LoadFailure: Error { var message: String }

    /// The function `symbol` as `T` (a `@convention(c)` type), if the library has it.
    func function<T>(_ symbol: String, as type: T.Type) -> T? {
        guard let address = dlsym(handle, symbol) else { return nil }
        return unsafeBitCast(address, to: type)
    }
}
