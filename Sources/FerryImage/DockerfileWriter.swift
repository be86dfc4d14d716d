import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Writes an image plan as a Dockerfile and its build context, for those
/// who build with Docker, Podman or Buildah: one `COPY` per planned layer
/// (so the base, runtime and model layers stay separate and cache the same
/// way), then the configuration as `ENV`, `LABEL`, `EXPOSE`, `USER`,
/// `WORKDIR` and `ENTRYPOINT`. No `RUN`: the build needs no shell in the image.
public enum DockerfileWriter {
    /// Writes `directory/Dockerfile` and `directory/layers/N-TITLE/…`;
    /// returns the Dockerfile's path. The directory must be empty or absent.
    @discardableResult
    public static func write(_ plan: ImagePlan, to directory: URL) throws(FerryError) -> URL {
        let manager = FileManager.default
        if let existing = try? manager.contentsOfDirectory(atPath: directory.path), !existing.isEmpty {
            throw FerryError(.failedPrecondition, "'\(directory.path)' is not empty; --dockerfile writes a fresh build context")
        }
        var lines = ["# Written by ferry build --dockerfile. Build it with: docker build -t NAME ."]
        switch plan.base {
        case .scratch: lines.append("FROM scratch")
        case .image(let pulled): lines.append("FROM \(pulled.pinnedName)")
        }
        for (index, layer) in plan.layers.enumerated() {
            let folder = "layers/\(index + 1)-\(slug(layer.title))"
            try materialize(layer.entries, under: directory.appendingPathComponent(folder))
            lines.append("COPY \(folder)/ /")
        }
        let config = plan.configuration
        for variable in config.Env ?? [] {
            let equals = variable.firstIndex(of: "=") ?? variable.endIndex
            let value = equals < variable.endIndex ? String(variable[variable.index(after: equals)...]) : ""
            lines.append("ENV \(variable[..<equals])=\(quoted(value))")
        }
        for (key, value) in (config.Labels ?? [:]).sorted(by: { $0.key < $1.key }) {
            lines.append("LABEL \(quoted(key))=\(quoted(value))")
        }
        let ports = (config.ExposedPorts ?? [:]).keys.sorted { Int($0.prefix { $0.isNumber }) ?? 0 < Int($1.prefix { $0.isNumber }) ?? 0 }
        if !ports.isEmpty { lines.append("EXPOSE " + ports.joined(separator: " ")) }
        if let user = config.User { lines.append("USER \(user)") }
        if let directory = config.WorkingDir { lines.append("WORKDIR \(directory)") }
        if let entrypoint = config.Entrypoint {
            var writer = JSONWriter()
            writer.list(entrypoint) { $0.string($1) }
            lines.append("ENTRYPOINT " + String(decoding: writer.data, as: UTF8.self))
        }
        let dockerfile = directory.appendingPathComponent("Dockerfile")
        do {
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: dockerfile)
        } catch {
            throw FerryError(.failedPrecondition, "cannot write '\(dockerfile.path)': \(FerryError.describe(error))")
        }
        return dockerfile
    }

    /// Lays the layer's entries out as files, with their modes (COPY keeps them).
    private static func materialize(_ entries: [TarEntry], under root: URL) throws(FerryError) {
        let manager = FileManager.default
        do {
            try manager.createDirectory(at: root, withIntermediateDirectories: true)
            for entry in entries.sorted(by: { $0.path < $1.path }) {
                let target = root.appendingPathComponent(entry.path)
                try manager.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                switch entry.content {
                case .directory:
                    try manager.createDirectory(at: target, withIntermediateDirectories: true)
                case .file(let source):
                    try manager.copyItem(at: source, to: target)
                case .bytes(let data):
                    try data.write(to: target)
                case .symlink(let destination):
                    try manager.createSymbolicLink(atPath: target.path, withDestinationPath: destination)
                    continue
                }
                try manager.setAttributes([.posixPermissions: entry.mode], ofItemAtPath: target.path)
            }
        } catch {
            throw FerryError(.failedPrecondition, "cannot write the build context under '\(root.path)': \(FerryError.describe(error))")
        }
    }

    /// A Dockerfile string literal.
    static func quoted(_ text: String) -> String {
        "\"" + text.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"").replacing("$", with: "\\$") + "\""
    }

    static func slug(_ title: String) -> String {
        String(title.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "-" })
    }
}
