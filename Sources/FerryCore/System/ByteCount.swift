/// Sizes as people write them on a command line: `512MiB`, `2G`, `1.5GB`,
/// `300000000`. Binary suffixes (Ki, Mi, Gi, Ti) count in 1024s, decimal ones
/// (k, K, M, G, T, with or without B) in 1000s, as Kubernetes quantities do.
public enum ByteCount {
    public static func parse(_ text: String) throws(FerryError) -> Int {
        let trimmed = text.trimmingWhitespace
        var number = Substring(trimmed)
        var suffix = ""
        while let last = number.last, last.isLetter {
            suffix = String(last) + suffix
            number = number.dropLast()
        }
        let multipliers: [String: Double] = [
            "": 1, "B": 1, "k": 1e3, "K": 1e3, "kB": 1e3, "KB": 1e3, "M": 1e6, "MB": 1e6, "G": 1e9, "GB": 1e9, "T": 1e12, "TB": 1e12,
            "Ki": 1024, "KiB": 1024, "Mi": 1_048_576, "MiB": 1_048_576, "Gi": 1_073_741_824, "GiB": 1_073_741_824, "Ti": 1_099_511_627_776, "TiB": 1_099_511_627_776,
        ]
        guard let multiplier = multipliers[suffix], let value = Double(number.trimmingWhitespace), value.isFinite, value > 0,
            value * multiplier < 9e18
        else {
            throw FerryError(.invalidArgument, "'\(text)' is not a size (write e.g. 512MiB, 2GiB, 1.5GB or a number of bytes)")
        }
        return Int((value * multiplier).rounded())
    }
}
