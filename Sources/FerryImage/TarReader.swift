import FerryCore

/// Reads the headers of a tar stream fed to it in pieces of any size
/// (POSIX ustar with pax extended headers, and GNU long names), skipping the
/// contents of regular files: what a layer holds, not its bytes.
package struct TarReader {
    package struct Entry: Equatable {
        package enum Kind: Equatable {
            case file, directory, symlink(String), hardLink(String), other
        }

        /// Without a leading `./` or `/`, and without a trailing `/`.
        package var path: String
        package var kind: Kind

        package init(path: String, kind: Kind) {
            self.path = path
            self.kind = kind
        }
    }

    private var header: [UInt8] = []
    /// Bytes of the current entry still to come, and whether they are kept (pax or GNU long-name records).
    private var remaining = 0
    private var padding = 0
    private var record: [UInt8]?
    private var pendingType: UInt8 = 0
    private var pax: [String: String] = [:]
    private var longName: String?
    private var longLink: String?
    package private(set) var ended = false

    package init() {}

    /// Feeds the next bytes of the stream; calls `entry` for each header completed.
    package mutating func consume(_ bytes: [UInt8], entry: (Entry) -> Void) throws(FerryError) {
        var index = 0
        while index < bytes.count && !ended {
            if remaining > 0 {
                let take = min(remaining, bytes.count - index)
                if record != nil { record!.append(contentsOf: bytes[index..<index + take]) }
                remaining -= take
                index += take
                if remaining == 0 { finishRecord() }
                continue
            }
            if padding > 0 {
                let take = min(padding, bytes.count - index)
                padding -= take
                index += take
                continue
            }
            let take = min(512 - header.count, bytes.count - index)
            header.append(contentsOf: bytes[index..<index + take])
            index += take
            if header.count == 512 {
                try parseHeader(entry: entry)
                header.removeAll(keepingCapacity: true)
            }
        }
    }

    private mutating func parseHeader(entry: (Entry) -> Void) throws(FerryError) {
        if header.allSatisfy({ $0 == 0 }) {
            ended = true
            return
        }
        guard checksumMatches() else { throw FerryError(.invalidArgument, "a layer is not a tar archive (bad header checksum)") }
        let size = try Self.number(header[124..<136])
        let type = header[156]
        remaining = size
        padding = (512 - size % 512) % 512
        switch type {
        case UInt8(ascii: "x"), UInt8(ascii: "L"), UInt8(ascii: "K"):
            record = []
            pendingType = type
            if size == 0 { finishRecord() }
            return
        case UInt8(ascii: "g"):
            record = nil
            return
        default:
            record = nil
        }
        var path = pax["path"] ?? longName ?? Self.ustarName(header)
        let link = pax["linkpath"] ?? longLink ?? Self.string(header[157..<257])
        if let paxSize = pax["size"].flatMap(Int.init) {
            remaining = paxSize
            padding = (512 - paxSize % 512) % 512
        }
        pax = [:]
        longName = nil
        longLink = nil
        while path.hasPrefix("./") { path.removeFirst(2) }
        while path.hasPrefix("/") { path.removeFirst() }
        while path.hasSuffix("/") { path.removeLast() }
        let kind: Entry.Kind =
            switch type {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): .file
            case UInt8(ascii: "5"): .directory
            case UInt8(ascii: "2"): .symlink(link)
            case UInt8(ascii: "1"): .hardLink(link)
            default: .other
            }
        switch kind {
        case .directory, .symlink, .hardLink:
            // No contents follow these, whatever their size field says (POSIX ustar).
            remaining = 0
            padding = 0
        case .file, .other: break
        }
        if !path.isEmpty { entry(Entry(path: path, kind: kind)) }
    }

    private mutating func finishRecord() {
        guard let bytes = record else { return }
        record = nil
        switch pendingType {
        case UInt8(ascii: "x"): pax = Self.paxRecords(bytes)
        case UInt8(ascii: "L"): longName = Self.string(bytes[...])
        case UInt8(ascii: "K"): longLink = Self.string(bytes[...])
        default: break
        }
    }

    private func checksumMatches() -> Bool {
        let sum = header.enumerated().reduce(0) { $0 + ((148..<156).contains($1.offset) ? 32 : Int($1.element)) }
        guard let stored = try? Self.number(header[148..<156]) else { return false }
        return stored == sum
    }

    /// Octal digits (NUL or space terminated), or GNU's base-256 with the top bit set.
    static func number(_ field: ArraySlice<UInt8>) throws(FerryError) -> Int {
        if let first = field.first, first & 0x80 != 0 {
            return field.dropFirst().reduce(Int(first & 0x7f)) { $0 << 8 | Int($1) }
        }
        var value = 0
        for byte in field {
            if byte == 0 || byte == UInt8(ascii: " ") {
                if value > 0 { break } else { continue }
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "7") else {
                throw FerryError(.invalidArgument, "a layer's tar header has a malformed number")
            }
            value = value * 8 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func ustarName(_ header: [UInt8]) -> String {
        let name = string(header[0..<100])
        guard header[257..<262].elementsEqual("ustar".utf8) else { return name }
        let prefix = string(header[345..<500])
        return prefix.isEmpty ? name : prefix + "/" + name
    }

    private static func string(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// `LENGTH key=value\n` records.
    private static func paxRecords(_ bytes: [UInt8]) -> [String: String] {
        var records: [String: String] = [:]
        var index = 0
        while index < bytes.count {
            guard let space = bytes[index...].firstIndex(of: UInt8(ascii: " ")),
                let length = Int(String(decoding: bytes[index..<space], as: UTF8.self)), length > 0, index + length <= bytes.count
            else { break }
            let record = bytes[(space + 1)..<(index + length - 1)]
            if let equals = record.firstIndex(of: UInt8(ascii: "=")) {
                records[String(decoding: record[..<equals], as: UTF8.self)] = String(
                    decoding: record[(equals + 1)...], as: UTF8.self)
            }
            index += length
        }
        return records
    }
}
