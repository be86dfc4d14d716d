import FerryCore
import Foundation
import Testing

@Suite("JSON parser")
struct JSONParserTests {
    @Test("numbers keep their literal text")
    func numberLiterals() throws {
        let value = try JSONParser.parse(#"[18446744073709551615, -9223372036854775808, 0.10000000149011612, 5e-324, -0.0]"#)
        #expect(
            value
                == .array([
                    .number("18446744073709551615"), .number("-9223372036854775808"),
                    .number("0.10000000149011612"), .number("5e-324"), .number("-0.0"),
                ]))
    }

    @Test("strings with escapes and surrogate pairs decode to the right characters")
    func escapes() throws {
        let value = try JSONParser.parse(#"{"s": "a\"b\\c\/d\n\t\u00e9\ud83d\ude00", "plain": "日本語"}"#)
        #expect(value["s"] == .string("a\"b\\c/d\n\té😀"))
        #expect(value["plain"] == .string("日本語"))
    }

    @Test("Python's NaN and Infinity literals are accepted")
    func nonFiniteLiterals() throws {
        #expect(try JSONParser.parse("[NaN, Infinity, -Infinity]") == .array([.number("NaN"), .number("Infinity"), .number("-Infinity")]))
    }

    @Test(
        "malformed documents fail with the byte offset",
        arguments: [
            ("{\"a\": 1,}", "expected a string key"),
            ("[1, 2", "expected ',' or ']'"),
            ("{\"a\" 1}", "expected ':'"),
            ("01", "unexpected data after"),
            ("\"unterminated", "unterminated string"),
            ("[1.]", "expected a digit after '.'"),
            ("tru", "invalid literal"),
            ("\"\\ud800\"", "unpaired UTF-16 surrogate"),
            ("", "unexpected end of input"),
            ("{} {}", "unexpected data after"),
        ]
    )
    func malformed(text: String, expected: String) throws {
        let error = try #require(throws: FerryError.self) { try JSONParser.parse(text) }
        #expect(error.code == .invalidArgument)
        #expect(error.message.hasPrefix("malformed JSON at byte "))
        #expect(error.message.contains(expected), "\(error.message)")
    }

    @Test("deep nesting is refused instead of overflowing the stack")
    func depthLimit() throws {
        let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let error = try #require(throws: FerryError.self) { try JSONParser.parse(text) }
        #expect(error.message.contains("nested deeper than"))
    }

    @Test("invalid UTF-8 in a string is refused")
    func invalidUTF8() throws {
        let bytes = Data([0x22, 0xC3, 0x28, 0x22])
        #expect(throws: FerryError.self) { try JSONParser.parse(bytes) }
    }

    @Test("what JSONWriter writes parses back to the same value")
    func writerRoundTrip() throws {
        let value = JSONValue.object([
            "a": .array([.number("1"), .bool(true), .null, .string("q\"\u{01}\n")]),
            "b": .object(["c": .string("ü")]),
        ])
        var writer = JSONWriter()
        writer.value(value)
        #expect(try JSONParser.parse(writer.data) == value)
    }
}
