import FerryCore

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

/// Finds `libonnxruntime.so` in the documented order: an explicit path, then
/// `FERRY_ONNXRUNTIME_LIB`, then `.deps/onnxruntime/lib` (in the working
/// directory or above the executable, so a development build finds the copy
/// `scripts/install-onnxruntime` made), then next to the executable (and in
/// `../lib` beside it, the container image layout), then the system library path.
package struct ONNXRuntimeLibraryLocator {
    static let environmentVariable = "FERRY_ONNXRUNTIME_LIB"
    static let pinnedFileName = "libonnxruntime.so.1.31.1"
    static let fileNames = [pinnedFileName, "libonnxruntime.so.1", "libonnxruntime.so"]

    package struct Candidate: Hashable {
        /// A path, or a bare file name that `dlopen` looks up on the system library path.
        package var path: String
        package var source: String
        var searchesSystemPath: Bool { !path.contains("/") }
    }

    package var explicitPath: String?
    package var environment: [String: String] = ProcessInfo.processInfo.environment
    package var currentDirectory: String = FileManager.default.currentDirectoryPath
    package var executableDirectory: String? = Self.executableDirectory()
    /// Looks in `.deps/onnxruntime-gpu/lib` (`scripts/install-onnxruntime --gpu`)
    /// before `.deps/onnxruntime/lib`: for `ferry serve --device cuda|auto` and `ferry build --gpu`.
    package var gpuBuild = false

    package init(explicitPath: String? = nil) { self.explicitPath = explicitPath }

    /// Where the library is looked for. An explicit path or the environment
    /// variable is the only candidate: a user who names a library means that one.
    package func candidates() -> [Candidate] {
        if let explicitPath, !explicitPath.isEmpty {
            return [Candidate(path: explicitPath, source: "--onnxruntime-lib")]
        }
        if let fromEnvironment = environment[Self.environmentVariable], !fromEnvironment.isEmpty {
            return [Candidate(path: fromEnvironment, source: Self.environmentVariable)]
        }
        var candidates: [Candidate] = []
        var depsDirectories = [currentDirectory]
        if let executableDirectory {
            var directory = URL(fileURLWithPath: executableDirectory)
            for _ in 0..<6 {
                depsDirectories.append(directory.path)
                directory.deleteLastPathComponent()
            }
        }
        for folder in gpuBuild ? ["onnxruntime-gpu", "onnxruntime"] : ["onnxruntime"] {
            for directory in depsDirectories {
                let path = URL(fileURLWithPath: directory).appendingPathComponent(".deps/\(folder)/lib/\(Self.pinnedFileName)").path
                candidates.append(Candidate(path: path, source: ".deps"))
            }
        }
        if let executableDirectory {
            for folder in [
                executableDirectory, URL(fileURLWithPath: executableDirectory).appendingPathComponent("../lib").standardized.path,
            ] {
                for name in Self.fileNames {
                    candidates.append(Candidate(path: folder + "/" + name, source: "next to the executable"))
                }
            }
        }
        for name in Self.fileNames.dropFirst() {
            candidates.append(Candidate(path: name, source: "system library path"))
        }
        var seen = Set<String>()
        return candidates.filter { seen.insert($0.path).inserted }
    }

    /// Opens the first candidate that loads.
    func open() throws(FerryError) -> (handle: UnsafeMutableRawPointer, path: String) {
        var attempts: [String] = []
        for candidate in candidates() {
            let isNamed = candidate.source == "--onnxruntime-lib" || candidate.source == Self.environmentVariable
            if !candidate.searchesSystemPath && !isNamed && !FileManager.default.fileExists(atPath: candidate.path) {
                attempts.append("\(candidate.path) (\(candidate.source)): not there")
                continue
            }
            if let handle = dlopen(candidate.path, RTLD_NOW | RTLD_LOCAL) {
                return (handle, candidate.path)
            }
            let reason = dlerror().map { String(cString: $0) } ?? "dlopen failed"
            attempts.append("\(candidate.path) (\(candidate.source)): \(reason)")
        }
        throw FerryError(
            .failedPrecondition,
            "ONNX Runtime library not found. Looked in:\n  " + attempts.joined(separator: "\n  ")
                + "\nInstall it with `scripts/install-onnxruntime` (puts it in .deps/onnxruntime/lib), "
                + "or pass --onnxruntime-lib PATH or set \(Self.environmentVariable)."
        )
    }

    static func executableDirectory() -> String? {
        guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            return CommandLine.arguments.first.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
        }
        return URL(fileURLWithPath: path).deletingLastPathComponent().path
    }
}
