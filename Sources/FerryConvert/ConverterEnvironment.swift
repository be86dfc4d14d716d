import Crypto
import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// The Python interpreter a conversion runs in: a pinned virtual environment
/// per framework that Ferry creates on first use and reuses, or an
/// interpreter the user names with `--python`.
///
/// An environment lives in `CACHE/FRAMEWORK-HASH`, where HASH covers the
/// requirements file and the base interpreter's version: changing either
/// makes a new environment instead of mutating one a running conversion may
/// use. It is built in `CACHE/.FRAMEWORK-HASH.partial-PID` and renamed into
/// place only once pip succeeded, so an interrupted install leaves nothing
/// that looks ready, and a second run finds it without touching the network.
public struct ConverterEnvironment: Sendable {
    public var python: String
    /// Where the environment lives; nil for an interpreter given with `--python`.
    public var directory: String?
    /// Whether this call created it (and so went to the network).
    public var created: Bool
    public var installSeconds: Double?

    /// The cache directory: `$FERRY_CONVERT_CACHE`, else `$XDG_CACHE_HOME/ferry/convert`,
    /// else `~/.cache/ferry/convert`.
    public static func defaultCache() -> String {
        let environment = ProcessInfo.processInfo.environment
        if let cache = environment["FERRY_CONVERT_CACHE"], !cache.isEmpty { return cache }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/ferry/convert" }
        return (environment["HOME"] ?? "/tmp") + "/.cache/ferry/convert"
    }

    /// An existing interpreter (`--python`): used as it is, its packages are the user's.
    public static func existing(python: String) throws(FerryError) -> ConverterEnvironment {
        let probe = try ChildProcess.run([python, "-c", "import sys; print(sys.version.split()[0])"])
        guard probe.status == 0 else {
            throw FerryError(.failedPrecondition, "--python \(python) does not run: \(probe.errorText.lastLine)")
        }
        return ConverterEnvironment(python: python, directory: nil, created: false, installSeconds: nil)
    }

    /// The pinned environment for `framework`, created if missing. `progress`
    /// receives what pip prints while it installs.
    public static func prepare(
        _ framework: SourceFramework, cache: String, basePython: String = "python3", progress: (String) -> Void
    ) throws(FerryError) -> ConverterEnvironment {
        // Absolute: the environment's interpreter is run from other directories.
        let cache = URL(fileURLWithPath: cache).standardizedFileURL.path
        let requirements = EmbeddedConverter.requirements(for: framework)
        let version = try baseVersion(basePython)
        let key = SHA256.hash(data: Data((requirements + "\npython " + version).utf8)).prefix(6).hexString
        let directory = "\(cache)/\(framework.rawValue)-\(key)"
        let python = directory + "/bin/python"
        if FileSystem.isRegularFile(directory + "/" + readyMarker) {
            return ConverterEnvironment(python: python, directory: directory, created: false, installSeconds: nil)
        }

        try createDirectory(cache)
        let partial = "\(cache)/.\(framework.rawValue)-\(key).partial-\(getpid())"
        try? FileManager.default.removeItem(atPath: partial)
        defer { try? FileManager.default.removeItem(atPath: partial) }
        let started = ContinuousClock.now
        progress("creating the \(framework.rawValue) environment in \(directory) (once; later conversions reuse it)")
        let log = cache + "/\(framework.rawValue)-\(key).install.log"
        let created = try ChildProcess.streaming([basePython, "-m", "venv", partial], errorLog: log, onLine: progress)
        guard created == 0 else {
            throw FerryError(
                .failedPrecondition,
                "\(basePython) -m venv failed (install Python's venv module, e.g. apt-get install python3-venv); log: \(log)")
        }
        let requirementsFile = partial + "/ferry-requirements.txt"
        try write(Data(requirements.utf8), to: requirementsFile)
        // Installed as pinned, never upgraded: PYTHONNOUSERSITE keeps the user's
        // own site-packages from shadowing a pin.
        let installed = try ChildProcess.streaming(
            [
                partial + "/bin/python", "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
                "-r", requirementsFile,
            ],
            environment: ["PYTHONNOUSERSITE": "1"], errorLog: log, onLine: progress)
        guard installed == 0 else {
            throw FerryError(
                .failedPrecondition,
                "installing the \(framework.rawValue) converter packages failed (pip exit \(installed): \(lastLine(ofFile: log))); full log: \(log)"
            )
        }
        let seconds = (ContinuousClock.now - started).seconds
        try write(Data("{\"framework\":\"\(framework.rawValue)\",\"python\":\"\(version)\",\"install_seconds\":\(seconds.fixed(1))}\n".utf8),
            to: partial + "/" + readyMarker)
        if rename(partial, directory) != 0 {
            // Another conversion finished the same environment first: use it.
            guard FileSystem.isRegularFile(directory + "/" + readyMarker) else {
                throw FerryError(.internal, "cannot move the environment to \(directory): \(String(cString: strerror(errno)))")
            }
        }
        progress("environment ready in \(seconds.fixed(1)) s")
        return ConverterEnvironment(python: python, directory: directory, created: true, installSeconds: seconds)
    }

    static let readyMarker = "ferry-environment.json"

    private static func baseVersion(_ python: String) throws(FerryError) -> String {
        let probe: ChildProcess.Result
        do {
            probe = try ChildProcess.run([python, "-c", "import sys; print(sys.version.split()[0])"])
        } catch {
            throw FerryError(.failedPrecondition, "'\(python)' is needed to create the converter environment: \(error.message)")
        }
        guard probe.status == 0 else { throw FerryError(.failedPrecondition, "'\(python)' does not run: \(probe.errorText.lastLine)") }
        let version = probe.outputText.trimmingWhitespace
        let parts = version.split(separator: ".").compactMap { Int($0) }
        guard parts.count >= 2, (parts[0], parts[1]) >= (3, 10) else {
            throw FerryError(.failedPrecondition, "the converters need Python 3.10 or newer; '\(python)' is \(version)")
        }
        return version
    }
}

func createDirectory(_ path: String) throws(FerryError) {
    do {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
        throw FerryError(.failedPrecondition, "cannot create \(path): \(error)")
    }
}

func write(_ data: Data, to path: String) throws(FerryError) {
    do {
        try data.write(to: URL(fileURLWithPath: path))
    } catch {
        throw FerryError(.failedPrecondition, "cannot write \(path): \(error)")
    }
}

func lastLine(ofFile path: String) -> String {
    guard let data = FileManager.default.contents(atPath: path) else { return "no output" }
    return String(decoding: data, as: UTF8.self).lastLine
}

extension String {
    /// The last line that is not blank: the sentence a Python traceback or pip ends with.
    var lastLine: String {
        split(whereSeparator: \.isNewline).last { !$0.trimmingWhitespace.isEmpty }.map { $0.trimmingWhitespace } ?? ""
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
