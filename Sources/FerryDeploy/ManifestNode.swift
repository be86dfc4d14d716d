/// A YAML document as a generator writes it: mappings keep the order their
/// keys were given in (`apiVersion`, `kind`, `metadata`, `spec`), so the
/// output reads like a hand-written manifest and golden files stay stable.
public indirect enum ManifestNode: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    case string(String)
    case integer(Int)
    case bool(Bool)
    case list([ManifestNode])
    case map([(String, ManifestNode)])

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: ManifestNode...) { self = .list(elements) }
    public init(dictionaryLiteral elements: (String, ManifestNode)...) { self = .map(elements) }

    public static func == (lhs: ManifestNode, rhs: ManifestNode) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)): a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        case (.list(let a), .list(let b)): a == b
        case (.map(let a), .map(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// The value under `key` of a mapping.
    public subscript(key: String) -> ManifestNode? {
        if case .map(let members) = self { return members.first { $0.0 == key }?.1 }
        return nil
    }

    /// A mapping without the members whose value is nil, so optional fields can be written inline.
    public static func map(_ members: [(String, ManifestNode?)]) -> ManifestNode {
        .map(members.compactMap { key, value in value.map { (key, $0) } })
    }
}
