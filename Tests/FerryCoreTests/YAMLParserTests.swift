import FerryCore
import Foundation
import Testing

@Suite("YAML parser (the subset ferry.yaml uses)")
struct YAMLParserTests {
    @Test("block mappings and sequences, nested, with comments and blank lines")
    func blockCollections() throws {
        let value = try YAMLParser.parse(
            """
            # a comment
            image:
              name: registry.example.com/team/app:v1   # trailing comment
              models:
                - digits
                - iris

              ports:
                http: 9000
            deploy:
              replicas: 3
              probes: [live, ready]
            """)
        #expect(value["image"]?["name"] == .string("registry.example.com/team/app:v1"))
        #expect(value["image"]?["models"] == .array([.string("digits"), .string("iris")]))
        #expect(value["image"]?["ports"]?["http"] == .number("9000"))
        #expect(value["deploy"]?["replicas"] == .number("3"))
        #expect(value["deploy"]?["probes"] == .array([.string("live"), .string("ready")]))
    }

    @Test("a sequence may sit at its key's indentation, and its items may be mappings")
    func compactSequences() throws {
        let value = try YAMLParser.parse(
            """
            env:
            - name: A
              value: "1"
            - name: B
              value: two
            """)
        #expect(
            value["env"]
                == .array([
                    .object(["name": .string("A"), "value": .string("1")]), .object(["name": .string("B"), "value": .string("two")]),
                ]))
    }

    @Test("plain scalars are typed as YAML's core schema says; quoted ones stay strings")
    func scalarTypes() throws {
        let value = try YAMLParser.parse(
            """
            a: 42
            b: -7
            c: 1.5e3
            d: true
            e: ~
            f: "42"
            g: 'it''s'
            h: 0x1f
            i: 1.2.3
            j:
            k: "tab\\tand \\u00e9"
            l: http://example.com:8080/x#y
            """)
        #expect(value["a"] == .number("42"))
        #expect(value["b"] == .number("-7"))
        #expect(value["c"] == .number("1.5e3"))
        #expect(value["d"] == .bool(true))
        #expect(value["e"] == .null)
        #expect(value["f"] == .string("42"))
        #expect(value["g"] == .string("it's"))
        #expect(value["h"] == .number("31"))
        #expect(value["i"] == .string("1.2.3"))
        #expect(value["j"] == .null)
        #expect(value["k"] == .string("tab\tand é"))
        #expect(value["l"] == .string("http://example.com:8080/x#y"))
    }

    @Test("flow collections nest on one line")
    func flowCollections() throws {
        let value = try YAMLParser.parse(
            """
            ports: {http: 8000, grpc: 8001}
            list: [a, "b, c", [1, 2], {k: v}]
            """)
        #expect(value["ports"] == .object(["http": .number("8000"), "grpc": .number("8001")]))
        #expect(
            value["list"]
                == .array([.string("a"), .string("b, c"), .array([.number("1"), .number("2")]), .object(["k": .string("v")])]))
    }

    @Test("literal and folded block scalars, with chomping")
    func blockScalars() throws {
        let value = try YAMLParser.parse(
            """
            literal: |
              line one
                indented
              line three
            folded: >-
              joined
              words

              new paragraph
            next: x
            """)
        #expect(value["literal"] == .string("line one\n  indented\nline three\n"))
        #expect(value["folded"] == .string("joined words\nnew paragraph"))
        #expect(value["next"] == .string("x"))
    }

    @Test("errors name the source and the line")
    func errors() {
        #expect(throws: FerryError.self) { try YAMLParser.parse("a: [1, 2\n", source: "f.yaml") }
        do {
            _ = try YAMLParser.parse("a: 1\na: 2\n", source: "f.yaml")
            Issue.record("a duplicate key was accepted")
        } catch {
            #expect(error.message == "f.yaml:2: the key 'a' appears twice")
        }
        do {
            _ = try YAMLParser.parse("a: &anchor 1\n", source: "f.yaml")
            Issue.record("an anchor was accepted")
        } catch {
            #expect(error.message == "f.yaml:1: anchors, aliases and tags are not supported")
        }
        do {
            _ = try YAMLParser.parse("a:\n  b: 1\n c: 2\n", source: "f.yaml")
            Issue.record("a bad indentation was accepted")
        } catch {
            #expect(error.message.hasPrefix("f.yaml:3: "), "\(error.message)")
        }
        do {
            _ = try YAMLParser.parse("a: 1\n---\nb: 2\n", source: "f.yaml")
            Issue.record("a second document was accepted")
        } catch {
            #expect(error.message == "f.yaml:2: only one YAML document is read; this file has more")
        }
    }
}

@Suite("text formatting without Foundation's format styles")
struct TextFormattingTests {
    @Test("fixed decimals round half away from zero, as %.Nf prints these")
    func fixed() {
        #expect(1.25.fixed(1) == "1.3")
        #expect((-1.25).fixed(1) == "-1.3")
        #expect(0.0.fixed(2) == "0.00")
        #expect(33.894.fixed(2) == "33.89")
        #expect(1234567.0.fixed(0) == "1234567")
        #expect((-0.001).fixed(2) == "0.00")
        #expect(Double.nan.fixed(1) == "nan")
    }

    @Test("hex, trimming and percent-encoding")
    func text() {
        #expect([0x00, 0x0f, 0xab, 0xff].hexString == "000fabff")
        #expect("  a b \t\n".trimmingWhitespace == "a b")
        #expect("repository:team/app:pull,push".percentEncodedQueryValue == "repository%3Ateam%2Fapp%3Apull%2Cpush")
        #expect("my model".percentEncodedPathSegment == "my%20model")
    }

    @Test("random identifiers are version-4 UUIDs and differ")
    func identifiers() {
        let first = RandomIdentifier.uuid()
        let second = RandomIdentifier.uuid()
        #expect(first != second)
        let parts = first.split(separator: "-")
        #expect(parts.map(\.count) == [8, 4, 4, 4, 12])
        #expect(parts[2].first == "4")
        #expect("89ab".contains(parts[3].first!))
    }
}
