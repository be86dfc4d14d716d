/// The one rule for a model's name, checked wherever a name arrives (a
/// repository directory, a load or unload request from any frontend) before it
/// touches the file system or the model table: a name becomes a directory
/// name, and a NUL byte, a separator or a `..` in it would name another file.
///
/// Letters and digits of any script are allowed, with '_', '.', '-' and inner
/// spaces: names such as `my model` or `modèle` were served before the rule
/// and stay reachable (percent-encoded in HTTP paths).
public enum ModelName {
    public static let maximumLength = 200

    /// Nil when `name` is acceptable, else why not (for an error message).
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "a model name cannot be empty" }
        if name.utf8.count > maximumLength { return "a model name is at most \(maximumLength) bytes" }
        // Bytes, not characters: ".\u{301}" is a character that is no '.'.
        if name.utf8.first == UInt8(ascii: ".") { return "a model name cannot start with '.'" }
        if name.utf8.first == UInt8(ascii: " ") || name.utf8.last == UInt8(ascii: " ") {
            return "a model name cannot start or end with a space"
        }
        let allowed = name.unicodeScalars.allSatisfy { scalar in
            switch scalar {
            case "_", ".", "-", " ": return true
            default:
                switch scalar.properties.generalCategory {
                case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .nonspacingMark,
                    .spacingMark, .decimalNumber:
                    return true
                default:
                    return false
                }
            }
        }
        return allowed ? nil : "a model name may hold only letters, digits, spaces, '_', '.' and '-'"
    }

    /// Throws `.invalidArgument` naming the problem; the name is shown escaped,
    /// so control characters in it cannot forge log lines or messages.
    public static func validate(_ name: String) throws(FerryError) {
        guard let problem = problem(name) else { return }
        throw FerryError(.invalidArgument, "invalid model name \(escaped(name)): \(problem)")
    }

    /// The name in quotes, with control characters, quotes and backslashes as \u{…}.
    public static func escaped(_ name: String) -> String {
        var text = "'"
        for scalar in name.unicodeScalars.prefix(maximumLength + 1) {
            if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format || scalar == "\\"
                || scalar == "'" || scalar.properties.generalCategory == .lineSeparator
                || scalar.properties.generalCategory == .paragraphSeparator
            {
                text += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                text.unicodeScalars.append(scalar)
            }
        }
        return text + "'"
    }
}
