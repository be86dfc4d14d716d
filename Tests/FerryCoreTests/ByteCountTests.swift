import FerryCore
import Testing

@Suite("sizes written on a command line")
struct ByteCountTests {
    @Test(
        "binary and decimal suffixes",
        arguments: [
            ("512MiB", 512 << 20), ("2Gi", 2 << 30), ("1.5GiB", 3 << 29), ("2G", 2_000_000_000), ("300MB", 300_000_000),
            ("4096", 4096), ("64k", 64_000), (" 1Ki ", 1024),
        ])
    func parses(text: String, bytes: Int) throws {
        #expect(try ByteCount.parse(text) == bytes)
    }

    @Test("anything else is refused with an example", arguments: ["", "lots", "-1G", "0", "2 GiBs", "1e30", "nan"])
    func refused(text: String) {
        #expect {
            try ByteCount.parse(text)
        } throws: { error in
            (error as? FerryError)?.message.contains("512MiB") == true
        }
    }
}
