import FerryCore
import Foundation
import Synchronization

/// A `ferry serve` child process whose ports are read from its JSON log.
final class ServerProcess: Sendable {
    let process: Process
    private let log = Mutex<String>("")
    let repository: URL

    /// Serves copies of fixture `models`, or an existing `repository` (one a
    /// server before it served, for restart tests), with extra `arguments`.
    /// Jobs go to a store in the repository folder, never the working tree.
    init(models: [String], repository existing: URL? = nil, arguments: [String] = []) throws {
        repository = existing ?? FileManager.default.temporaryDirectory.appendingPathComponent("ferry-serve-\(UUID().uuidString)")
        for model in models where existing == nil {
            let version = repository.appendingPathComponent("\(model)/1")
            try FileManager.default.createDirectory(at: version, withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                atPath: FerryProcess.fixture("\(model).onnx"), toPath: version.appendingPathComponent("model.onnx").path)
        }
        process = Process()
        process.executableURL = FerryProcess.executable
        process.arguments = ["serve", repository.path] + arguments
        // Every option is also an environment variable: port 0 lets the system pick.
        process.environment = ProcessInfo.processInfo.environment.merging([
            "FERRY_HTTP_PORT": "0", "FERRY_GRPC_PORT": "0", "FERRY_METRICS_PORT": "0", "FERRY_LOG_FORMAT": "json",
            "FERRY_JOB_STORE": repository.appendingPathComponent(".jobs/jobs.sqlite").path,
        ]) { $1 }
        process.currentDirectoryURL = FerryProcess.repositoryRoot
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let handle = errors.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { return }
                log.withLock { $0 += String(decoding: chunk, as: UTF8.self) }
            }
        }
    }

    var logText: String { log.withLock { $0 } }

    /// The port of the endpoint whose "listening" line has `message`.
    func port(_ message: String, timeout: Duration = .seconds(60)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            for line in logText.split(separator: "\n") where line.contains("\"message\":\"\(message)\"") {
                if let address = try? JSONParser.parse(String(line))["address"]?.stringValue,
                    let port = address.split(separator: ":").last.flatMap({ Int($0) })
                {
                    return port
                }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw FerryError(.unavailable, "ferry serve did not log '\(message)':\n\(logText)")
    }

    func waitUntilModelsReady(count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if logText.components(separatedBy: "\"message\":\"model version ready\"").count - 1 >= count { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw FerryError(.unavailable, "ferry serve did not load \(count) models:\n\(logText)")
    }

    /// Sends SIGTERM and returns the exit status; the repository is removed
    /// unless `keepRepository`.
    func terminate(keepRepository: Bool = false) -> Int32 {
        process.terminate()
        process.waitUntilExit()
        if !keepRepository { try? FileManager.default.removeItem(at: repository) }
        return process.terminationStatus
    }

    /// SIGKILL: the server gets no chance to finish or record anything.
    func kill() {
        _ = Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
