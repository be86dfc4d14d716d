#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `ferry.yaml`, the optional project file that sits next to a model
/// repository (in the folder that holds it, or holds the `.onnx` file) and
/// gives `ferry build` and `ferry deploy` their defaults:
///
/// ```yaml
/// image:
///   name: registry.example.com/team/digits:v1
///   base: scratch
///   models: [digits]
/// deploy:
///   replicas: 2
/// ```
public struct ProjectFile: Sendable {
    public static let fileName = "ferry.yaml"

    public let path: String
    public let root: ProjectSection

    /// `explicit` (a `--config` path, which must exist), else `ferry.yaml`
    /// next to `repository`, else nil.
    public static func find(nextTo repository: String, explicit: String? = nil) throws(FerryError) -> ProjectFile? {
        if let explicit { return try load(explicit) }
        let folder = URL(fileURLWithPath: repository).standardizedFileURL.deletingLastPathComponent()
        let candidate = folder.appendingPathComponent(fileName).path
        return FileSystem.isRegularFile(candidate) ? try load(candidate) : nil
    }

    public static func load(_ path: String) throws(FerryError) -> ProjectFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FerryError(.notFound, "cannot read the project file '\(path)'")
        }
        let value = try YAMLParser.parse(String(decoding: data, as: UTF8.self), source: path)
        switch value {
        case .object: return ProjectFile(path: path, root: ProjectSection(file: path, key: "", value: value))
        case .null: return ProjectFile(path: path, root: ProjectSection(file: path, key: "", value: .object([:])))
        default: throw FerryError(.invalidArgument, "\(path): the top level must be a mapping (image:, deploy:)")
        }
    }

    /// The section `name` (`image`, `deploy`); empty when absent.
    public func section(_ name: String) throws(FerryError) -> ProjectSection {
        try root.section(name) ?? ProjectSection(file: path, key: name, value: .object([:]))
    }
}

/// A mapping of `ferry.yaml`, read with accessors whose errors name the file
/// and the dotted key (`image.ports.http`).
public struct ProjectSection: Sendable {
    public let file: String
    public let key: String
    let members: [String: JSONValue]

    init(file: String, key: String, value: JSONValue) {
        self.file = file
        self.key = key
        if case .object(let members) = value { self.members = members } else { self.members = [:] }
    }

    private func name(_ member: String) -> String { key.isEmpty ? member : "\(key).\(member)" }

    private func fail(_ member: String, _ expected: String) -> FerryError {
        FerryError(.invalidArgument, "\(file): '\(name(member))' must be \(expected)")
    }

    /// Refuses keys other than `known`, so a misspelt key is not silently ignored.
    public func allowOnly(_ known: [String]) throws(FerryError) {
        let unknown = members.keys.filter { !known.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw FerryError(
                .invalidArgument,
                "\(file): unknown key \(unknown.map { "'\(name($0))'" }.joined(separator: ", ")) (known here: \(known.joined(separator: ", ")))"
            )
        }
    }

    public func has(_ member: String) -> Bool { members[member].map { $0 != .null } ?? false }

    public func section(_ member: String) throws(FerryError) -> ProjectSection? {
        switch members[member] {
        case nil, .null?: return nil
        case .object?: return ProjectSection(file: file, key: name(member), value: members[member]!)
        default: throw fail(member, "a mapping")
        }
    }

    public func string(_ member: String) throws(FerryError) -> String? {
        switch members[member] {
        case nil, .null?: return nil
        case .string(let text)?, .number(let text)?: return text
        case .bool(let value)?: return value ? "true" : "false"
        default: throw fail(member, "a string")
        }
    }

    public func integer(_ member: String) throws(FerryError) -> Int? {
        switch members[member] {
        case nil, .null?: return nil
        case .number(let text)?:
            guard let value = Int(text) else { throw fail(member, "a whole number") }
            return value
        default: throw fail(member, "a whole number")
        }
    }

    public func bool(_ member: String) throws(FerryError) -> Bool? {
        switch members[member] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        default: throw fail(member, "true or false")
        }
    }

    /// A list of strings; a single string counts as a list of one.
    public func strings(_ member: String) throws(FerryError) -> [String]? {
        switch members[member] {
        case nil, .null?: return nil
        case .string(let text)?: return [text]
        case .array(let items)?:
            return try items.map { item throws(FerryError) in
                switch item {
                case .string(let text), .number(let text): return text
                case .bool(let value): return value ? "true" : "false"
                default: throw fail(member, "a list of strings")
                }
            }
        default: throw fail(member, "a list of strings")
        }
    }

    /// A mapping of names to strings (`env`, `labels`), or a list of `KEY=VALUE`.
    public func stringMap(_ member: String) throws(FerryError) -> [String: String]? {
        switch members[member] {
        case nil, .null?: return nil
        case .object(let entries)?:
            var result: [String: String] = [:]
            for (name, value) in entries {
                switch value {
                case .string(let text), .number(let text): result[name] = text
                case .bool(let flag): result[name] = flag ? "true" : "false"
                case .null: result[name] = ""
                default: throw fail("\(member).\(name)", "a string")
                }
            }
            return result
        case .array?:
            var result: [String: String] = [:]
            for pair in try strings(member) ?? [] {
                guard let equals = pair.firstIndex(of: "=") else { throw fail(member, "a mapping or a list of KEY=VALUE") }
                result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            return result
        default: throw fail(member, "a mapping or a list of KEY=VALUE")
        }
    }
}
