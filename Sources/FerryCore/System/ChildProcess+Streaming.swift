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

extension ChildProcess {
    /// Runs a long program (a converter, `pip install`) and hands each line it
    /// prints on standard output to `onLine` as it comes, so the user sees
    /// progress; standard error goes whole to the file `errorLog` (created or
    /// truncated), where a traceback can be read later without flooding the
    /// terminal. `environment` is added to this process's environment; the
    /// child runs in this process's working directory.
    /// Returns the exit status (128 + N when killed by signal N).
    public static func streaming(
        _ arguments: [String],
        environment: [String: String] = [:],
        errorLog: String,
        onLine: (String) -> Void
    ) throws(FerryError) -> Int32 {
        precondition(!arguments.isEmpty)
        var output: [Int32] = [-1, -1]
        guard pipe(&output) == 0 else {
            throw FerryError(.internal, "cannot create a pipe for '\(arguments[0])': \(String(cString: strerror(errno)))")
        }
        let pid: pid_t
        do throws(FerryError) {
            pid = try spawn(arguments, output: output[1], errors: .file(errorLog), parentEnds: output, environment: environment)
        } catch {
            close(output[0])
            throw error
        }
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 14)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(output[0], $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            pending.append(contentsOf: buffer[0..<count])
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                onLine(String(decoding: pending[..<newline], as: UTF8.self))
                pending.removeSubrange(...newline)
            }
        }
        if !pending.isEmpty { onLine(String(decoding: pending, as: UTF8.self)) }
        close(output[0])
        return exitStatus(of: pid)
    }
}
