import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The tar `docker save` writes and `docker load` / `podman load` read:
/// `manifest.json` naming the config and the layers. Ferry's own layers are
/// written plain, as `docker save` writes them; a base image's gzip layers
/// go in as they are, which `docker load` and containers/image decompress.
public enum DockerArchive {
    public static func write(_ image: BuiltImage, from layout: OCILayout, name: String, to file: URL) throws(FerryError) {
        let config = "\(image.config.digest.hex).json"
        let layers = image.layers.map { "\($0.digest.hex)" + ($0.gzipped ? ".tar.gz" : ".tar") }
        var manifest = JSONWriter()
        manifest.list([0]) { writer, _ in
            writer.object { object in
                object.member("Config") { $0.string(config) }
                object.member("RepoTags") { writer in writer.list([name]) { $0.string($1) } }
                object.member("Layers") { writer in writer.list(layers) { $0.string($1) } }
            }
        }
        var entries = [
            TarEntry(path: "manifest.json", content: .bytes(manifest.data)),
            TarEntry(path: config, content: .file(layout.blobURL(image.config.digest))),
        ]
        for (layer, path) in zip(image.layers, layers) {
            entries.append(TarEntry(path: path, content: .file(layout.blobURL(layer.digest))))
        }

        let output = try OutputFile(file.path)
        let tar = TarWriter(modificationTime: 0) { (data: Data) throws(FerryError) in try output.write(data) }
        try tar.write(entries)
    }
}
