import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Runs blocking work (loading a model into ONNX Runtime takes from
/// milliseconds to minutes) on a thread of its own, so it never occupies a
/// thread of Swift's cooperative pool.
enum BlockingWork {
    static func run<Value: Sendable>(
        _ name: String,
        _ work: @escaping @Sendable () throws(FerryError) -> Value
    ) async throws(FerryError) -> Value {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Value, FerryError>, Never>) in
            NativeThread.start(name: name) {
                do throws(FerryError) {
                    continuation.resume(returning: .success(try work()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}
