/// Indents compact JSON text for files people read (`conversion.json`),
/// keeping the writer's member order: two spaces a level, a line per member,
/// arrays of numbers on one line so a shape stays `[1, 3, 224, 224]`.
public enum JSONPrettyPrinter {
    public static func format(_ compact: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(compact.count * 2)
        var depth = 0
        var index = 0
        var inlineDepth: Int? = nil

        func newline() {
            output.append(UInt8(ascii: "\n"))
            output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: depth * 2))
        }
        /// Whether the array opening at `start` holds only scalars (printed on one line).
        func isFlatArray(from start: Int) -> Bool {
            var position = start + 1
            var inString = false
            while position < compact.count {
                let byte = compact[position]
                if inString {
                    if byte == UInt8(ascii: "\\") { position += 1 } else if byte == UInt8(ascii: "\"") { inString = false }
                } else if byte == UInt8(ascii: "\"") {
                    inString = true
                } else if byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") {
                    return false
                } else if byte == UInt8(ascii: "]") {
                    return true
                }
                position += 1
            }
            return false
        }

        while index < compact.count {
            let byte = compact[index]
            switch byte {
            case UInt8(ascii: "\""):
                let start = index
                index += 1
                while index < compact.count && compact[index] != UInt8(ascii: "\"") {
                    if compact[index] == UInt8(ascii: "\\") { index += 1 }
                    index += 1
                }
                output.append(contentsOf: compact[start...min(index, compact.count - 1)])
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                output.append(byte)
                let closing = byte == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                if index + 1 < compact.count && compact[index + 1] == closing {
                    output.append(closing)
                    index += 1
                } else if inlineDepth == nil && byte == UInt8(ascii: "[") && isFlatArray(from: index) {
                    inlineDepth = depth
                } else if inlineDepth == nil {
                    depth += 1
                    newline()
                }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if inlineDepth == depth && byte == UInt8(ascii: "]") {
                    inlineDepth = nil
                } else {
                    depth -= 1
                    newline()
                }
                output.append(byte)
            case UInt8(ascii: ","):
                output.append(byte)
                if inlineDepth != nil { output.append(UInt8(ascii: " ")) } else { newline() }
            case UInt8(ascii: ":"):
                output.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
            default:
                output.append(byte)
            }
            index += 1
        }
        output.append(UInt8(ascii: "\n"))
        return output
    }
}
