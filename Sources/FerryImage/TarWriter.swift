import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One entry of a layer: a directory, a regular file (its bytes read from
/// `source` or given), or a symbolic link. Layers are written with every
/// entry's owner 0:0, the same modification time, and the entries sorted by
/// path, so the same inputs always give the same bytes.
public struct TarEntry: Sendable, Hashable {
    public enum Content: Sendable, Hashable {
        case directory
        case file(URL)
        case bytes(Data)
        case symlink(String)
    }

    /// Relative to the root, without a leading `/` (`usr/local/bin/ferry`).
    public var path: String
    public var content: Content
    public var mode: Int

    public init(path: String, content: Content, mode: Int? = nil) {
        self.path = path.hasPrefix("/") ? String(path.dropFirst()) : path
        self.content = content
        switch content {
        case .directory: self.mode = mode ?? 0o755
        case .file, .bytes: self.mode = mode ?? 0o644
        case .symlink: self.mode = mode ?? 0o777
        }
    }
}

extension TarEntry {
    /// Bytes of content (0 for directories and links, or a file that cannot be read).
    var contentSize: Int {
        switch content {
        case .bytes(let data): data.count
        case .file(let url): FileSystem.size(of: url.path) ?? 0
        case .directory, .symlink: 0
        }
    }
}

/// Writes a POSIX (ustar + pax) tar stream: headers, contents padded to 512
/// bytes, two zero blocks at the end. Paths over 100 bytes and files over
/// 8 GiB get a pax extended header, so model weights of any size fit.
package struct TarWriter {
    /// Seconds since 1970 stamped on every entry (`SOURCE_DATE_EPOCH` or 0).
    let modificationTime: Int
    let output: (Data) throws(FerryError) -> Void

    package init(modificationTime: Int, output: @escaping (Data) throws(FerryError) -> Void) {
        self.modificationTime = modificationTime
        self.output = output
    }

    static let blockSize = 512

    package func write(_ entries: [TarEntry]) throws(FerryError) {
        for entry in entries.sorted(by: { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }) {
            try write(entry)
        }
        try output(Data(count: 2 * Self.blockSize))
    }

    private func write(_ entry: TarEntry) throws(FerryError) {
        let size: Int
        let type: UInt8
        var linkTarget = ""
        switch entry.content {
        case .directory:
            size = 0
            type = UInt8(ascii: "5")
        case .symlink(let target):
            size = 0
            type = UInt8(ascii: "2")
            linkTarget = target
        case .bytes(let data):
            size = data.count
            type = UInt8(ascii: "0")
        case .file(let url):
            size = try Self.fileSize(url)
            type = UInt8(ascii: "0")
        }
        var name = entry.path
        if case .directory = entry.content, !name.hasSuffix("/") { name += "/" }

        var extended: [(String, String)] = []
        if name.utf8.count > 100 { extended.append(("path", name)) }
        if linkTarget.utf8.count > 100 { extended.append(("linkpath", linkTarget)) }
        if size > 0o77777777777 { extended.append(("size", String(size))) }
        if !extended.isEmpty {
            let records = Data(extended.map(Self.paxRecord).joined().utf8)
            try output(
                header(name: "PaxHeaders/" + String(name.suffix(80)), mode: 0o644, size: records.count, type: UInt8(ascii: "x"), link: ""))
            try output(records)
            try pad(records.count)
        }
        try output(header(name: name, mode: entry.mode, size: size, type: type, link: linkTarget))
        switch entry.content {
        case .bytes(let data):
            try output(data)
            try pad(data.count)
        case .file(let url):
            try copy(url, expected: size)
            try pad(size)
        case .directory, .symlink: break
        }
    }

    private func header(name: String, mode: Int, size: Int, type: UInt8, link: String) -> Data {
        var block = [UInt8](repeating: 0, count: Self.blockSize)
        func put(_ text: String, at offset: Int, length: Int) {
            for (index, byte) in text.utf8.prefix(length).enumerated() { block[offset + index] = byte }
        }
        func octal(_ value: Int, at offset: Int, length: Int) {
            // length - 1 digits and a NUL; values too large are carried by the pax header.
            let digits = String(min(value, (1 << (3 * (length - 1))) - 1), radix: 8)
            put(String(repeating: "0", count: max(0, length - 1 - digits.count)) + digits, at: offset, length: length - 1)
        }
        put(name, at: 0, length: 100)
        octal(mode, at: 100, length: 8)
        octal(0, at: 108, length: 8)
        octal(0, at: 116, length: 8)
        octal(size, at: 124, length: 12)
        octal(modificationTime, at: 136, length: 12)
        block[156] = type
        put(link, at: 157, length: 100)
        put("ustar", at: 257, length: 6)
        put("00", at: 263, length: 2)
        // The checksum is computed with its own field as eight spaces.
        for index in 148..<156 { block[index] = UInt8(ascii: " ") }
        let checksum = block.reduce(0) { $0 + Int($1) }
        let digits = String(checksum, radix: 8)
        put(String(repeating: "0", count: 6 - digits.count) + digits, at: 148, length: 6)
        block[154] = 0
        block[155] = UInt8(ascii: " ")
        return Data(block)
    }

    /// `LENGTH key=value\n`, where LENGTH counts itself.
    static func paxRecord(_ key: String, _ value: String) -> String {
        let body = " \(key)=\(value)\n"
        var length = body.utf8.count + 1
        while String(length).count + body.utf8.count != length { length += 1 }
        return String(length) + body
    }

    private func pad(_ count: Int) throws(FerryError) {
        let remainder = count % Self.blockSize
        if remainder > 0 { try output(Data(count: Self.blockSize - remainder)) }
    }

    private func copy(_ url: URL, expected: Int) throws(FerryError) {
        let file = try InputFile(url.path)
        var copied = 0
        while true {
            let chunk = try file.read(upTo: 1 << 20)
            if chunk.isEmpty { break }
            copied += chunk.count
            try output(chunk)
        }
        guard copied == expected else {
            throw FerryError(.internal, "'\(url.path)' changed size while it was being packed (\(expected) → \(copied) bytes)")
        }
    }

    static func fileSize(_ url: URL) throws(FerryError) -> Int {
        guard let size = FileSystem.size(of: url.path) else { throw FerryError(.notFound, "cannot read '\(url.path)' for the image") }
        return size
    }
}
