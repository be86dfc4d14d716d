#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's limit on open files: every connection takes one, and many
/// systems start processes with a soft limit of 1,024 (or 256) under a far
/// higher hard limit.
public enum OpenFileLimit {
    /// Raises the soft limit to the hard one. Returns the soft limit before
    /// and after (the same when it could not be raised; 1,024, the usual
    /// default, when it could not be read).
    @discardableResult
    public static func raiseToHardLimit() -> (before: Int, now: Int) {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return (1024, 1024) }
        let before = Int(clamping: limit.rlim_cur)
        guard limit.rlim_cur < limit.rlim_max else { return (before, before) }
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        guard setrlimit(resource, &raised) == 0 else { return (before, before) }
        return (before, Int(clamping: raised.rlim_cur))
    }

    /// The connections a server can hold with `openFiles` descriptors,
    /// keeping some for model files, the job store, logs and ONNX Runtime.
    public static func connections(forOpenFiles openFiles: Int) -> Int {
        max(16, min(openFiles - 128, 10_000))
    }

    #if os(Linux)
        private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
        private static let resource = RLIMIT_NOFILE
    #endif
}
