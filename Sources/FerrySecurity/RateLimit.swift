import FerryCore
import Synchronization

/// Requests per second a credential (or, without authentication, a client
/// address) may send, written "200/s" or "600/m". The bucket holds one
/// second's worth (at least one request), so a client may burst that much.
public struct RateLimit: Sendable, Equatable, CustomStringConvertible {
    public var perSecond: Double

    public static let unlimited = RateLimit(perSecond: .infinity)

    public init(perSecond: Double) {
        self.perSecond = perSecond
    }

    public init(_ text: some StringProtocol) throws(FerryError) {
        if text == "none" || text == "unlimited" {
            self = .unlimited
            return
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        let unit: Double? =
            switch parts.count == 2 ? parts[1] : "" {
            case "s", "sec", "second": 1
            case "m", "min", "minute": 60
            default: nil
            }
        guard let unit, let count = Double(parts[0]), count.isFinite, count > 0 else {
            throw FerryError(.invalidArgument, "a rate limit is written like 200/s or 600/m (or none), not '\(text)'")
        }
        perSecond = count / unit
    }

    public var burst: Double { max(1, perSecond) }

    public var description: String {
        if perSecond == .infinity { return "none" }
        if perSecond < 1 { return "\(Self.format(perSecond * 60))/m" }
        return "\(Self.format(perSecond))/s"
    }

    private static func format(_ value: Double) -> String {
        value.rounded() == value ? String(Int(value)) : String(value)
    }
}

/// A token bucket per key (a credential's owner, or a client address). A
/// refusal says how long until the next request would pass.
public final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: UInt64
        var limit: RateLimit

        /// Whether it has refilled completely by `now`.
        func isFull(at now: UInt64) -> Bool {
            tokens + Double(now &- updated) / 1e9 * limit.perSecond >= limit.burst
        }
    }

    /// Beyond this many buckets, those that have refilled completely (and so
    /// hold nothing a new bucket would not) are dropped.
    private static let pruneAbove = 4096

    private let buckets = Mutex<[String: Bucket]>([:])

    public init() {}

    /// Takes one request's token from `key`'s bucket; nil when taken, or the
    /// seconds until one will be there.
    public func take(_ key: String, limit: RateLimit, now: UInt64 = SystemClock.monotonicNanoseconds()) -> Double? {
        guard limit.perSecond.isFinite else { return nil }
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: limit.burst, updated: now, limit: limit)
            bucket.limit = limit
            let elapsed = Double(now &- bucket.updated) / 1e9
            bucket.tokens = min(limit.burst, bucket.tokens + max(0, elapsed) * limit.perSecond)
            bucket.updated = now
            defer {
                if buckets.count > Self.pruneAbove { buckets = buckets.filter { !$0.value.isFull(at: now) } }
            }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                buckets[key] = bucket
                return nil
            }
            buckets[key] = bucket
            return (1 - bucket.tokens) / limit.perSecond
        }
    }
}
