/// Parses the part of YAML 1.2 a configuration file needs into a `JSONValue`
/// tree: block mappings and sequences, flow `[…]` and `{…}` collections,
/// plain, single- and double-quoted scalars, literal `|` and folded `>`
/// block scalars, and comments. Plain scalars are typed as YAML's core
/// schema types them (null, booleans, integers, floats, else strings).
/// Anchors, aliases, tags and multiple documents are refused, with the line.
///
/// Written here rather than taken from Yams: Yams needs full Foundation
/// (`NSRegularExpression`), whose ICU data would add 16 MB to every image.
public struct YAMLParser {
    private struct Line {
        var number: Int
        var indent: Int
        /// Without the indentation; comments not yet removed (block scalars keep `#`).
        var text: String
    }

    private var lines: [Line] = []
    private var index = 0
    private let source: String

    /// - Parameter source: names the text in errors (a file path).
    public static func parse(_ text: String, source: String = "YAML") throws(FerryError) -> JSONValue {
        var parser = YAMLParser(text: text, source: source)
        return try parser.document()
    }

    private init(text: String, source: String) {
        self.source = source
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(raw)
            if line.hasSuffix("\r") { line.removeLast() }
            let indent = line.prefix { $0 == " " }.count
            lines.append(Line(number: offset + 1, indent: indent, text: String(line.dropFirst(indent))))
        }
    }

    private func fail(_ message: String, line: Int) -> FerryError {
        FerryError(.invalidArgument, "\(source):\(line): \(message)")
    }

    // MARK: Structure

    private mutating func document() throws(FerryError) -> JSONValue {
        skipBlank()
        if index < lines.count, lines[index].indent == 0, Self.strip(lines[index].text) == "---" {
            index += 1
            skipBlank()
        }
        guard index < lines.count else { return .null }
        let value = try node(indent: lines[index].indent)
        skipBlank()
        if index < lines.count {
            let line = lines[index]
            if Self.isDocumentMarker(Self.strip(line.text)) {
                throw fail("only one YAML document is read; this file has more", line: line.number)
            }
            throw fail("unexpected indentation or content: '\(Self.strip(line.text))'", line: line.number)
        }
        return value
    }

    /// Lines that hold nothing but spaces or a comment.
    private mutating func skipBlank() {
        while index < lines.count, Self.strip(lines[index].text).isEmpty { index += 1 }
    }

    /// The block node starting at the current line, indented `indent`.
    private mutating func node(indent: Int) throws(FerryError) -> JSONValue {
        skipBlank()
        let line = lines[index]
        if line.text.hasPrefix("\t") { throw fail("tabs cannot indent YAML", line: line.number) }
        let text = Self.strip(line.text)
        if text == "-" || text.hasPrefix("- ") { return try sequence(indent: indent) }
        if try Self.mappingKey(text, line: line.number, source: source) != nil { return try mapping(indent: indent) }
        index += 1
        return try inlineValue(text, line: line, indent: indent)
    }

    private mutating func sequence(indent: Int) throws(FerryError) -> JSONValue {
        var items: [JSONValue] = []
        while true {
            skipBlank()
            guard index < lines.count, lines[index].indent == indent else { break }
            let line = lines[index]
            let text = Self.strip(line.text)
            guard text == "-" || text.hasPrefix("- "), !Self.isDocumentMarker(text) else { break }
            if text == "-" {
                index += 1
                skipBlank()
                if index < lines.count, lines[index].indent > indent {
                    items.append(try node(indent: lines[index].indent))
                } else {
                    items.append(.null)
                }
                continue
            }
            // "- rest": the rest is a node indented past the dash, so a
            // mapping it starts continues on the lines below at that column.
            let rest = line.text.dropFirst(1)
            let spaces = rest.prefix { $0 == " " }.count
            lines[index] = Line(number: line.number, indent: indent + 1 + spaces, text: String(rest.dropFirst(spaces)))
            items.append(try node(indent: indent + 1 + spaces))
        }
        return .array(items)
    }

    private mutating func mapping(indent: Int) throws(FerryError) -> JSONValue {
        var members: [String: JSONValue] = [:]
        while true {
            skipBlank()
            guard index < lines.count, lines[index].indent == indent else { break }
            let line = lines[index]
            let text = Self.strip(line.text)
            if Self.isDocumentMarker(text) { break }
            guard let (key, rest) = try Self.mappingKey(text, line: line.number, source: source) else {
                throw fail("expected 'key: value' in this mapping, found '\(text)'", line: line.number)
            }
            guard members[key] == nil else { throw fail("the key '\(key)' appears twice", line: line.number) }
            index += 1
            if rest.isEmpty {
                skipBlank()
                if index < lines.count, lines[index].indent > indent {
                    members[key] = try node(indent: lines[index].indent)
                } else if index < lines.count, lines[index].indent == indent, Self.strip(lines[index].text).hasPrefix("- ") {
                    // A sequence may sit at its key's own indentation (as Kubernetes manifests write it).
                    members[key] = try sequence(indent: indent)
                } else {
                    members[key] = .null
                }
            } else {
                members[key] = try inlineValue(rest, line: line, indent: indent)
            }
        }
        return .object(members)
    }

    /// A value written on its key's (or dash's) line: a scalar, a flow
    /// collection, or the header of a block scalar whose lines follow.
    private mutating func inlineValue(_ text: String, line: Line, indent: Int) throws(FerryError) -> JSONValue {
        if let first = text.first, first == "|" || first == ">" {
            return .string(try blockScalar(header: text, line: line, parentIndent: indent))
        }
        if let first = text.first, "&*!".contains(first) {
            throw fail("anchors, aliases and tags are not supported", line: line.number)
        }
        var flow = FlowScanner(Array(text.utf8), line: line.number, source: source)
        let value = try flow.value()
        try flow.expectEnd()
        return value
    }

    /// `|` keeps line breaks, `>` folds lines into spaces; `-` strips the
    /// final line break, `+` keeps trailing blank lines (YAML 1.2, 8.1).
    private mutating func blockScalar(header: String, line: Line, parentIndent: Int) throws(FerryError) -> String {
        let literal = header.first == "|"
        let indicators = Self.strip(String(header.dropFirst()))
        guard indicators.allSatisfy({ $0 == "-" || $0 == "+" }) else {
            throw fail("block scalar indicators other than - and + are not supported", line: line.number)
        }
        var body: [String] = []
        var contentIndent: Int?
        while index < lines.count {
            let next = lines[index]
            if next.text.trimmingWhitespace.isEmpty {
                body.append("")
                index += 1
                continue
            }
            if contentIndent == nil {
                guard next.indent > parentIndent else { break }
                contentIndent = next.indent
            }
            guard next.indent >= contentIndent! else { break }
            body.append(String(repeating: " ", count: next.indent - contentIndent!) + next.text)
            index += 1
        }
        var trailingBlank = 0
        while let last = body.last, last.isEmpty {
            body.removeLast()
            trailingBlank += 1
        }
        var text: String
        if literal {
            text = body.joined(separator: "\n")
        } else {
            // Lines join with a space; each empty line between them is one line break.
            text = ""
            var joinWithSpace = false
            for piece in body {
                if piece.isEmpty {
                    text += "\n"
                    joinWithSpace = false
                    continue
                }
                if joinWithSpace { text += " " }
                text += piece
                joinWithSpace = true
            }
        }
        if indicators.contains("-") { return text }
        if indicators.contains("+") { return text + String(repeating: "\n", count: trailingBlank + 1) }
        return body.isEmpty ? "" : text + "\n"
    }

    // MARK: Lines

    static func isDocumentMarker(_ text: String) -> Bool { text == "---" || text == "..." }

    /// The text without a trailing comment (a `#` after whitespace, outside quotes) and trailing spaces.
    static func strip(_ text: String) -> String {
        var quote: Character?
        var previous: Character = " "
        var end = text.endIndex
        for position in text.indices {
            let character = text[position]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "#" && (previous == " " || previous == "\t") {
                end = position
                break
            }
            previous = character
        }
        return String(text[..<end]).trimmingWhitespace
    }

    /// `key: rest` or `key:` outside quotes and brackets; nil when the line is not a mapping entry.
    static func mappingKey(_ text: String, line: Int, source: String) throws(FerryError) -> (String, String)? {
        var quote: Character?
        var depth = 0
        var position = text.startIndex
        while position < text.endIndex {
            let character = text[position]
            if let open = quote {
                if character == "\\" && open == "\"" {
                    position = text.index(after: position)
                } else if character == open {
                    quote = nil
                }
            } else if character == "\"" || character == "'" {
                if position == text.startIndex { quote = character }
            } else if character == "[" || character == "{" {
                if position == text.startIndex { return nil }
                depth += 1
            } else if character == "]" || character == "}" {
                depth -= 1
            } else if character == ":" && depth == 0 {
                let after = text.index(after: position)
                if after == text.endIndex || text[after] == " " {
                    let rawKey = String(text[..<position]).trimmingWhitespace
                    var scanner = FlowScanner(Array(rawKey.utf8), line: line, source: source)
                    let key = try scanner.value()
                    try scanner.expectEnd()
                    let name: String
                    switch key {
                    case .string(let text), .number(let text): name = text
                    case .bool(let value): name = value ? "true" : "false"
                    case .null: name = ""
                    default: throw FerryError(.invalidArgument, "\(source):\(line): a mapping key must be a scalar")
                    }
                    return (name, String(text[after...]).trimmingWhitespace)
                }
            }
            if position < text.endIndex { position = text.index(after: position) }
        }
        return nil
    }
}
