import FerryCore
import FerryImage
import Logging

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Turns what `ferry serve` was given — model repositories, `.onnx` files,
/// `oci://` model artifacts, and YAML lists of them — into directories to
/// serve. An artifact that cannot be pulled does not stop the server: its
/// model is listed UNAVAILABLE with the reason, and the others serve.
package enum ModelSources {
    struct Resolved {
        var paths: [String] = []
        /// Model name → why its artifact is not there.
        var failures: [String: String] = [:]
    }

    static func resolve(_ sources: [String], cache settings: ModelCacheSettings, logger: Logger) async throws(FerryError) -> Resolved {
        var resolved = Resolved()
        var expanded: [String] = []
        for source in sources { expanded += try expand(source) }
        guard expanded.contains(where: { $0.hasPrefix(ModelArtifactCache.scheme) }) else {
            resolved.paths = expanded
            return resolved
        }
        let cache = try ModelArtifactCache(settings)
        for source in expanded {
            guard source.hasPrefix(ModelArtifactCache.scheme) else {
                resolved.paths.append(source)
                continue
            }
            let started = ContinuousClock.now
            do throws(FerryError) {
                let fetched = try await cache.fetch(source)
                resolved.paths.append(fetched.repository)
                if let reason = fetched.staleBecause {
                    logger.warning(
                        "registry unreachable: serving the model artifact as last pulled",
                        metadata: ["source": "\(source)", "digest": "\(fetched.manifestDigest)", "reason": "\(reason)"])
                }
                logger.info(
                    "model artifact ready",
                    metadata: [
                        "source": "\(source)", "model": "\(fetched.name)", "digest": "\(fetched.manifestDigest)",
                        "blobs_downloaded": "\(fetched.downloaded)", "blobs_cached": "\(fetched.reused)",
                        "registry_asked": "\(!fetched.offline)", "ms": "\((ContinuousClock.now - started).milliseconds)",
                    ])
            } catch {
                logger.error("model artifact not pulled", metadata: ["source": "\(source)", "reason": "\(error.message)"])
                guard let name = ModelArtifactCache.provisionalName(source) else { throw error }
                resolved.failures[name] = "pulling \(source) failed: \(error.message)"
            }
        }
        return resolved
    }

    /// A `.yaml`/`.yml` file lists sources, under `models:` or as a bare
    /// list; relative paths in it are relative to the file.
    package static func expand(_ source: String) throws(FerryError) -> [String] {
        guard source.hasSuffix(".yaml") || source.hasSuffix(".yml"), !source.hasPrefix(ModelArtifactCache.scheme) else { return [source] }
        guard let data = FileManager.default.contents(atPath: source) else {
            throw FerryError(.notFound, "cannot read the model list \(source)")
        }
        let document = try YAMLParser.parse(String(decoding: data, as: UTF8.self), source: source)
        let list: JSONValue? = if case .array = document { document } else { document["models"] }
        guard case .array(let items)? = list, !items.isEmpty else {
            throw FerryError(.invalidArgument, "\(source) must list model sources under 'models:' (repositories, .onnx files, oci:// references)")
        }
        let folder = URL(fileURLWithPath: source).standardizedFileURL.deletingLastPathComponent().path
        return try items.map { item throws(FerryError) in
            guard let text = item.stringValue, !text.isEmpty else {
                throw FerryError(.invalidArgument, "\(source): every entry under 'models:' must be a path or an oci:// reference")
            }
            if text.hasPrefix(ModelArtifactCache.scheme) || text.hasPrefix("/") { return text }
            return folder + "/" + text
        }
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
