import FerryCore
import Foundation

/// Runs blocking work (loading a model into ONNX Runtime takes from
/// milliseconds to minutes) on a thread of its own, so it never occupies a
/// thread of Swift's cooperative pool.
enum BlockingWork {
    static func run<Value: Sendable>(
        _ name: String,
        _ work: @escaping @Sendable () throws(FerryError) -> Value
    ) async throws(FerryError) -> Value {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Value, FerryError>, Never>) in
            let thread = Thread {
                do throws(FerryError) {
                    continuation.resume(returning: .success(try work()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            thread.name = name
            thread.start()
        }
        return try result.get()
    }
}
