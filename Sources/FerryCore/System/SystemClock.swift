#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The system's clocks in nanoseconds, without a `Date` or a clock object:
/// read on every request by rate limits, file watches and trace spans.
public enum SystemClock {
    /// Nanoseconds of a clock that only moves forward (intervals, deadlines).
    public static func monotonicNanoseconds() -> UInt64 { read(CLOCK_MONOTONIC) }

    /// Nanoseconds since the Unix epoch (what traces record).
    public static func wallNanoseconds() -> UInt64 { read(CLOCK_REALTIME) }

    private static func read(_ clock: clockid_t) -> UInt64 {
        var time = timespec()
        clock_gettime(clock, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
