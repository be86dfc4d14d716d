#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The cores this process may use: the CPUs it may run on, capped by its
/// cgroup's CPU quota. A Kubernetes or Docker CPU limit is such a quota, not
/// a smaller CPU set, so counting CPUs alone would give a container limited
/// to 2 cores on a 64-core node 64 model instances and be throttled.
/// (Go 1.25's GOMAXPROCS and the JVM read the quota the same way.)
public enum AvailableCores {
    public static var count: Int {
        let online = ProcessInfo.processInfo.activeProcessorCount
        guard let quota = quota() else { return online }
        return max(1, min(online, Int(quota.rounded(.up))))
    }

    /// Cores the quota allows, or nil when there is none (or no cgroup file to read).
    package static func quota(
        root: String = "/sys/fs/cgroup", membership: String? = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)
    )
        -> Double?
    {
        let lines = (membership ?? "").split(separator: "\n")
        // cgroup v2: "0::/PATH", the quota in PATH/cpu.max ("max 100000" or "200000 100000").
        if let line = lines.first(where: { $0.hasPrefix("0::") }) {
            let path = String(line.dropFirst(3))
            for directory in [root + path, root] {
                if let text = try? String(contentsOfFile: directory + "/cpu.max", encoding: .utf8) { return parseCPUMax(text) }
            }
        }
        // cgroup v1: "N:cpu,cpuacct:/PATH", cpu.cfs_quota_us (-1: none) over cpu.cfs_period_us.
        if let line = lines.first(where: { $0.split(separator: ":").dropFirst().first?.split(separator: ",").contains("cpu") == true }) {
            let fields = line.split(separator: ":", maxSplits: 2)
            let controllers = String(fields[1])
            let path = fields.count > 2 ? String(fields[2]) : "/"
            for directory in ["\(root)/\(controllers)\(path)", "\(root)/cpu\(path)", "\(root)/\(controllers)", "\(root)/cpu"] {
                if let quota = try? String(contentsOfFile: directory + "/cpu.cfs_quota_us", encoding: .utf8),
                    let period = try? String(contentsOfFile: directory + "/cpu.cfs_period_us", encoding: .utf8)
                {
                    return parseCFS(quota: quota, period: period)
                }
            }
        }
        return nil
    }

    package static func parseCPUMax(_ text: String) -> Double? {
        let fields = text.split(whereSeparator: \.isWhitespace)
        guard fields.count == 2, let quota = Double(fields[0]), let period = Double(fields[1]), period > 0, quota > 0 else { return nil }
        return quota / period
    }

    package static func parseCFS(quota: String, period: String) -> Double? {
        guard let quota = Double(quota.split(whereSeparator: \.isWhitespace).first ?? ""),
            let period = Double(period.split(whereSeparator: \.isWhitespace).first ?? ""), quota > 0, period > 0
        else { return nil }
        return quota / period
    }
}
