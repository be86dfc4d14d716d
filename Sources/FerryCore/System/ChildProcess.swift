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

/// Runs a program to completion and collects what it printed, through
/// `posix_spawnp` (Foundation's `Process` lives in full Foundation, which
/// `ferry` does not link). For short helper programs (`ldd`, `strip`): both
/// outputs are read concurrently with `poll`, so neither pipe can fill up.
public enum ChildProcess {
    public struct Result: Sendable {
        public var status: Int32
        public var standardOutput: Data
        public var standardError: Data

        public var outputText: String { String(decoding: standardOutput, as: UTF8.self) }
        public var errorText: String { String(decoding: standardError, as: UTF8.self) }
    }

    /// Runs `arguments[0]` (looked up in `PATH`) with the rest as its arguments.
    /// Throws only when the program cannot be started; a failing program
    /// returns its exit status (128 + N when killed by signal N).
    public static func run(_ arguments: [String]) throws(FerryError) -> Result {
        precondition(!arguments.isEmpty)
        var output: [Int32] = [-1, -1]
        var errors: [Int32] = [-1, -1]
        guard pipe(&output) == 0, pipe(&errors) == 0 else {
            throw FerryError(.internal, "cannot create a pipe for '\(arguments[0])': \(String(cString: strerror(errno)))")
        }
        let pid: pid_t
        do throws(FerryError) {
            pid = try spawn(arguments, output: output[1], errors: .descriptor(errors[1]), parentEnds: output + errors)
        } catch {
            close(output[0])
            close(errors[0])
            throw error
        }
        let (standardOutput, standardError) = readBoth(output[0], errors[0])
        return Result(status: exitStatus(of: pid), standardOutput: standardOutput, standardError: standardError)
    }

    /// Where a child's standard error goes.
    enum ErrorDestination {
        case descriptor(Int32)
        /// A file, created or truncated.
        case file(String)
    }

    /// Starts `arguments[0]` (looked up in `PATH`) with standard input from
    /// /dev/null, standard output on `output` and standard error at `errors`;
    /// `environment` is added to this process's. Closes this process's copies
    /// of `output` and a descriptor in `errors`; the child gets none of
    /// `parentEnds`, the pipe ends this process keeps.
    static func spawn(
        _ arguments: [String], output: Int32, errors: ErrorDestination, parentEnds: [Int32], environment: [String: String] = [:]
    ) throws(FerryError) -> pid_t {
        #if canImport(Glibc)
            var actions = posix_spawn_file_actions_t()
        #else
            var actions: posix_spawn_file_actions_t?
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        switch errors {
        case .descriptor(let descriptor): posix_spawn_file_actions_adddup2(&actions, descriptor, 2)
        case .file(let path): posix_spawn_file_actions_addopen(&actions, 2, path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        for descriptor in parentEnds { posix_spawn_file_actions_addclose(&actions, descriptor) }

        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp = environment.isEmpty ? [] : environmentWith(environment)
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let spawned =
            envp.isEmpty
            ? posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
            : posix_spawnp(&pid, arguments[0], &actions, nil, argv, envp)
        close(output)
        if case .descriptor(let descriptor) = errors { close(descriptor) }
        guard spawned == 0 else {
            throw FerryError(.failedPrecondition, "cannot run '\(arguments[0])': \(String(cString: strerror(spawned)))")
        }
        return pid
    }

    /// This process's environment with `added` set, as `NAME=VALUE` strings the caller frees.
    private static func environmentWith(_ added: [String: String]) -> [UnsafeMutablePointer<CChar>?] {
        var variables: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                variables[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        variables.merge(added) { _, new in new }
        return variables.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
    }

    /// Waits for `pid` and returns its exit status (128 + N when killed by signal N).
    static func exitStatus(of pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift cannot import.
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    private static func readBoth(_ first: Int32, _ second: Int32) -> (Data, Data) {
        var collected = [Data(), Data()]
        var descriptors = [pollfd(fd: first, events: Int16(POLLIN), revents: 0), pollfd(fd: second, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while descriptors.contains(where: { $0.fd >= 0 }) {
            if poll(&descriptors, nfds_t(descriptors.count), -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for index in descriptors.indices where descriptors[index].fd >= 0 && descriptors[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(descriptors[index].fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    collected[index].append(contentsOf: buffer[0..<count])
                } else if count == 0 || errno != EINTR {
                    close(descriptors[index].fd)
                    descriptors[index].fd = -1
                }
            }
        }
        return (collected[0], collected[1])
    }
}
