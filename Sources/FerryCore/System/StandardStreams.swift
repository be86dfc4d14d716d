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

/// Standard output, error and input as file descriptors 1, 2 and 0.
/// Foundation's `FileHandle` lives in full Foundation (with ICU), which
/// `ferry` does not link.
public enum StandardStreams {
    public static func writeOutput(_ bytes: some Sequence<UInt8>) { write(Array(bytes), to: 1) }
    public static func writeError(_ bytes: some Sequence<UInt8>) { write(Array(bytes), to: 2) }
    public static func writeError(_ text: String) { write(Array(text.utf8), to: 2) }

    /// Whether standard error is a terminal (progress bars, colours).
    public static var errorIsTerminal: Bool { isatty(2) == 1 }

    /// Everything on standard input until end of file.
    public static func readInput() -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count > 0 {
                data.append(contentsOf: buffer[0..<count])
            } else if count == 0 || errno != EINTR {
                return data
            }
        }
    }

    private static func write(_ bytes: [UInt8], to descriptor: Int32) {
        var offset = 0
        bytes.withUnsafeBytes { buffer in
            while offset < buffer.count {
                #if canImport(Glibc)
                    let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                #else
                    let written = Darwin.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                #endif
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}
