import ArgumentParser
import FerryCore
import Foundation

/// Runs a command body; a `FerryError` is printed as one line on stderr and
/// exits with status 1, never as a stack trace.
func reportingFailures(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as FerryError {
        FileHandle.standardError.write(Data("ferry: \(error.message)\n".utf8))
        throw ExitCode.failure
    }
}

/// The async form, for commands that serve.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as FerryError {
        FileHandle.standardError.write(Data("ferry: \(error.message)\n".utf8))
        throw ExitCode.failure
    }
}

func writeStandardOutput(_ data: Data) {
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
}
