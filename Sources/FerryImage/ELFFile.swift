import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The parts of a 64-bit little-endian ELF file (x86-64, AArch64) that
/// decide what the dynamic loader maps for it: the `DT_NEEDED` entries of its
/// dynamic section and the symbols of its dynamic symbol table (System V ABI,
/// "Dynamic Section" and "Symbol Table").
package struct ELFFile {
    package struct Symbols {
        /// Global and weak symbols the file uses but does not define.
        package var undefined: Set<String> = []
        /// Global, weak and unique symbols the file exports.
        package var defined: Set<String> = []
    }

    let path: String
    package private(set) var bytes: [UInt8]
    private let sections: [Section]

    private struct Section {
        var type: UInt32
        var offset: Int
        var size: Int
        var link: Int
        var entrySize: Int
    }

    private static let dynamicType: UInt32 = 6
    private static let dynamicSymbolsType: UInt32 = 11
    private static let neededTag: Int64 = 1

    package init(path: String) throws(FerryError) {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else { throw FerryError(.notFound, "cannot read '\(path)'") }
        bytes = [UInt8](data)
        guard bytes.count >= 64, bytes[0..<4].elementsEqual([0x7f, 0x45, 0x4c, 0x46]) else {
            throw FerryError(.invalidArgument, "'\(path)' is not an ELF file")
        }
        guard bytes[4] == 2, bytes[5] == 1 else {
            throw FerryError(.invalidArgument, "'\(path)' is not a 64-bit little-endian ELF file")
        }
        let bytes = bytes
        func integer(_ offset: Int, _ width: Int) throws(FerryError) -> Int {
            guard offset >= 0, offset + width <= bytes.count else {
                throw FerryError(.invalidArgument, "'\(path)' is a truncated ELF file")
            }
            var value: UInt64 = 0
            for index in (0..<width).reversed() { value = value << 8 | UInt64(bytes[offset + index]) }
            return Int(truncatingIfNeeded: value)
        }
        let headerOffset = try integer(0x28, 8)
        let headerSize = try integer(0x3a, 2)
        let count = try integer(0x3c, 2)
        var sections: [Section] = []
        for index in 0..<count {
            let base = headerOffset + index * headerSize
            sections.append(
                Section(
                    type: UInt32(try integer(base + 4, 4)), offset: try integer(base + 24, 8), size: try integer(base + 32, 8),
                    link: try integer(base + 40, 4), entrySize: try integer(base + 56, 8)))
        }
        for section in sections where section.offset < 0 || section.size < 0 || section.offset + section.size > bytes.count {
            if section.type != 8 { throw FerryError(.invalidArgument, "'\(path)' has a section beyond its end") }  // 8: SHT_NOBITS
        }
        self.sections = sections
    }

    /// The names in `DT_NEEDED`, in order (`libswiftCore.so`, `libc.so.6`).
    package var neededLibraries: [String] {
        dynamicEntries().compactMap { $0.tag == Self.neededTag ? $0.name : nil }
    }

    package var symbols: Symbols {
        var result = Symbols()
        for section in sections where section.type == Self.dynamicSymbolsType && section.entrySize >= 24 {
            guard let strings = stringTable(section.link) else { continue }
            for entry in stride(from: section.offset, to: section.offset + section.size, by: section.entrySize) {
                let binding = bytes[entry + 4] >> 4
                guard binding == 1 || binding == 2 || binding == 10 else { continue }  // GLOBAL, WEAK, GNU_UNIQUE
                let name = string(at: Int(read32(entry)), in: strings)
                guard !name.isEmpty else { continue }
                let sectionIndex = Int(bytes[entry + 6]) | Int(bytes[entry + 7]) << 8
                if sectionIndex == 0 {
                    result.undefined.insert(name)
                } else {
                    result.defined.insert(name)
                }
            }
        }
        return result
    }

    /// Removes the `DT_NEEDED` entries named in `libraries`: the entries after
    /// them move up and the freed slots become `DT_NULL`, which ends the
    /// table, as `patchelf --remove-needed` does.
    package mutating func removeNeeded(_ libraries: Set<String>) {
        guard let section = sections.first(where: { $0.type == Self.dynamicType }) else { return }
        let entries = dynamicEntries()
        let kept = entries.filter { !($0.tag == Self.neededTag && libraries.contains($0.name ?? "")) }
        guard kept.count < entries.count else { return }
        for (index, entry) in kept.enumerated() {
            bytes.replaceSubrange(section.offset + index * 16..<section.offset + index * 16 + 16, with: entry.raw)
        }
        for index in kept.count..<entries.count {
            bytes.replaceSubrange(section.offset + index * 16..<section.offset + index * 16 + 16, with: [UInt8](repeating: 0, count: 16))
        }
    }

    private struct DynamicEntry {
        var tag: Int64
        var name: String?
        var raw: ArraySlice<UInt8>
    }

    /// Entries up to and excluding the first `DT_NULL`.
    private func dynamicEntries() -> [DynamicEntry] {
        guard let section = sections.first(where: { $0.type == Self.dynamicType }), let strings = stringTable(section.link) else {
            return []
        }
        var entries: [DynamicEntry] = []
        for offset in stride(from: section.offset, to: section.offset + section.size - 15, by: 16) {
            let tag = Int64(bitPattern: read64(offset))
            if tag == 0 { break }
            let name = tag == Self.neededTag ? string(at: Int(read64(offset + 8)), in: strings) : nil
            entries.append(DynamicEntry(tag: tag, name: name, raw: bytes[offset..<offset + 16]))
        }
        return entries
    }

    private func stringTable(_ index: Int) -> Range<Int>? {
        guard index > 0, index < sections.count else { return nil }
        return sections[index].offset..<sections[index].offset + sections[index].size
    }

    private func string(at offset: Int, in table: Range<Int>) -> String {
        let start = table.lowerBound + offset
        guard start < table.upperBound else { return "" }
        let end = bytes[start..<table.upperBound].firstIndex(of: 0) ?? table.upperBound
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    private func read32(_ offset: Int) -> UInt32 {
        (0..<4).reversed().reduce(0) { $0 << 8 | UInt32(bytes[offset + $1]) }
    }

    private func read64(_ offset: Int) -> UInt64 {
        (0..<8).reversed().reduce(0) { $0 << 8 | UInt64(bytes[offset + $1]) }
    }
}
