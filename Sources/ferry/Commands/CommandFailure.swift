import ArgumentParser
import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Runs a command body; a `FerryError` is printed as one line on stderr and
/// exits with status 1, never as a stack trace.
func reportingFailures(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as FerryError {
        StandardStreams.writeError("ferry: \(error.message)\n")
        throw ExitCode.failure
    }
}

/// The async form, for commands that serve.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as FerryError {
        StandardStreams.writeError("ferry: \(error.message)\n")
        throw ExitCode.failure
    }
}

func writeStandardOutput(_ data: Data) {
    StandardStreams.writeOutput(data + Data("\n".utf8))
}
