import FerryCore
import FerryImage
import Foundation
import Testing

@Suite("reading layers: tar headers and OCI whiteouts")
struct LayerContentsTests {
    /// What TarWriter writes, TarReader reads back, fed in pieces of any size.
    @Test("TarWriter's output read back in 7-byte pieces: paths over 100 bytes (pax), links, directories, contents skipped")
    func roundTrip() throws {
        let long = String(repeating: "d", count: 120) + "/file.bin"
        var tar = Data()
        try TarWriter(modificationTime: 0) { (data: Data) throws(FerryError) in tar.append(data) }.write([
            TarEntry(path: "etc", content: .directory),
            TarEntry(path: "etc/passwd", content: .bytes(Data("root:x:0:0::/:/bin/false\n".utf8))),
            TarEntry(path: long, content: .bytes(Data(repeating: 7, count: 1500))),
            TarEntry(path: "lib64/ld.so", content: .symlink("../lib/ld-2.so")),
        ])
        var reader = TarReader()
        var entries: [TarReader.Entry] = []
        let bytes = [UInt8](tar)
        for start in stride(from: 0, to: bytes.count, by: 7) {
            try reader.consume(Array(bytes[start..<min(start + 7, bytes.count)])) { entries.append($0) }
        }
        #expect(reader.ended)
        // In the writer's order: sorted by path.
        #expect(
            entries == [
                .init(path: long, kind: .file), .init(path: "etc", kind: .directory), .init(path: "etc/passwd", kind: .file),
                .init(path: "lib64/ld.so", kind: .symlink("../lib/ld-2.so")),
            ])
    }

    @Test("a corrupt header is refused")
    func corrupt() {
        var reader = TarReader()
        var block = [UInt8](repeating: 0, count: 512)
        block[0] = UInt8(ascii: "x")
        #expect(throws: FerryError.self) { try reader.consume(block) { _ in } }
    }

    @Test("whiteouts delete from the layers below; opaque directories empty them; links resolve")
    func whiteouts() {
        let contents = BaseImageContents(entries: [
            [
                .init(path: "usr", kind: .directory), .init(path: "usr/lib", kind: .directory),
                .init(path: "usr/lib/libz.so.1", kind: .file), .init(path: "usr/lib/libc.so.6", kind: .file),
                .init(path: "lib", kind: .symlink("usr/lib")), .init(path: "opt", kind: .directory),
                .init(path: "opt/old", kind: .file), .init(path: "lib64", kind: .directory),
                .init(path: "lib64/ld-linux-x86-64.so.2", kind: .symlink("/usr/lib/ld.so")), .init(path: "usr/lib/ld.so", kind: .file),
            ],
            [
                .init(path: "usr/lib/.wh.libz.so.1", kind: .file), .init(path: "opt/.wh..wh..opq", kind: .file),
                .init(path: "opt/new", kind: .file),
            ],
        ])
        #expect(contents.resolve("lib/libc.so.6") == .file)
        #expect(contents.resolve("/usr/lib/libz.so.1") == nil)
        #expect(contents.resolve("opt/old") == nil)
        #expect(contents.resolve("opt/new") == .file)
        #expect(contents.resolve("lib64/ld-linux-x86-64.so.2") == .file)
        #expect(contents.hasLibrary(named: "libc.so.6", at: "/lib/x86_64-linux-gnu/libc.so.6"))
        #expect(!contents.hasLibrary(named: "libz.so.1", at: "/lib/x86_64-linux-gnu/libz.so.1"))
    }
}

@Suite("ELF dynamic sections")
struct ELFFileTests {
    @Test("the libraries a program needs and its undefined symbols; removing an entry leaves a valid file")
    func neededAndRemoved() throws {
        let program = "/bin/ls"
        let file = try ELFFile(path: program)
        #expect(file.neededLibraries.contains("libc.so.6"))
        #expect(file.symbols.undefined.contains("malloc") || file.symbols.undefined.contains("opendir"))
        let libc = try ELFFile(path: "/lib/x86_64-linux-gnu/libc.so.6")
        #expect(libc.symbols.defined.contains("malloc"))

        var copy = file
        let removed = file.neededLibraries.first { $0 != "libc.so.6" }
        if let removed {
            copy.removeNeeded([removed])
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-elf-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try Data(copy.bytes).write(to: URL(fileURLWithPath: path))
            let reread = try ELFFile(path: path)
            #expect(reread.neededLibraries == file.neededLibraries.filter { $0 != removed })
        }
        #expect(throws: FerryError.self) { try ELFFile(path: "/etc/passwd") }
    }
}
