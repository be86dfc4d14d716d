import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The result of a build: the manifest's descriptor and every layer, base first.
public struct BuiltImage: Sendable {
    public struct LayerSummary: Sendable {
        public var digest: Digest
        public var size: Int
        public var gzipped: Bool
        public var title: String
        /// Written by this build, not taken from a base image.
        public var built: Bool
    }

    public var manifest: Descriptor
    public var config: Descriptor
    public var layers: [LayerSummary]
}

/// Writes an image plan as an OCI image into a layout without a container
/// engine: the base (Ferry's scratch root filesystem, or a pulled image's
/// layers as they are), the runtime (`ferry`, ONNX Runtime) and one layer
/// per model, so a code change reuses the model layers and a new model
/// version reuses the runtime. Every layer Ferry writes is deterministic.
public struct ImageBuilder: Sendable {
    public let layout: OCILayout

    public init(layout: OCILayout) { self.layout = layout }

    public func write(_ plan: ImagePlan, sourceDateEpoch: Int, progress: ProgressDisplay = .silent) throws(FerryError) -> BuiltImage {
        var layers: [BuiltImage.LayerSummary] = []
        var descriptors: [Descriptor] = []
        var diffIDs: [Digest] = []
        var history: [ImageConfiguration.History] = []
        var annotations = (plan.configuration.Labels ?? [:]).filter { $0.key.hasPrefix("org.opencontainers.image.") }
        if case .image(let pulled) = plan.base {
            for (layer, diffID) in zip(pulled.layers, pulled.configuration.rootfs.diff_ids) {
                descriptors.append(layer)
                diffIDs.append(diffID)
                layers.append(
                    .init(digest: layer.digest, size: layer.size, gzipped: layer.mediaType.hasSuffix("gzip"), title: "base", built: false))
            }
            history = pulled.configuration.history ?? []
            annotations[ImageAnnotation.baseName] = pulled.pinnedName
            annotations[ImageAnnotation.baseDigest] = pulled.manifestDigest.description
        }
        for planned in plan.layers {
            let temporary = layout.temporaryBlob()
            let total = planned.entries.reduce(0) { $0 + $1.contentSize }
            progress.begin("packing \(planned.title)", total: total)
            let layer: Layer
            do {
                layer = try LayerWriter(modificationTime: sourceDateEpoch).write(
                    planned.entries, title: planned.title, gzip: planned.gzip, to: temporary
                ) { progress.advance(by: $0) }
            } catch {
                progress.end()
                try? FileManager.default.removeItem(at: temporary)
                throw error
            }
            progress.end()
            try layout.commit(temporary, as: layer.digest)
            descriptors.append(
                Descriptor(
                    mediaType: layer.mediaType, digest: layer.digest, size: layer.size, annotations: [ImageAnnotation.title: layer.title]))
            diffIDs.append(layer.diffID)
            history.append(.init(created: plan.created, created_by: "ferry build: \(layer.title)"))
            layers.append(.init(digest: layer.digest, size: layer.size, gzipped: layer.gzipped, title: layer.title, built: true))
        }

        let configuration = ImageConfiguration(
            created: plan.created, architecture: plan.architecture, os: "linux", config: plan.configuration,
            rootfs: .init(diff_ids: diffIDs), history: history)
        let configData = try CanonicalJSON.encode(configuration)
        let config = Descriptor(mediaType: MediaType.config, digest: try layout.putBlob(configData), size: configData.count)
        let manifest = ImageManifest(config: config, layers: descriptors, annotations: annotations)
        let manifestData = try CanonicalJSON.encode(manifest)
        let descriptor = Descriptor(
            mediaType: MediaType.manifest, digest: try layout.putBlob(manifestData), size: manifestData.count,
            platform: Platform(architecture: plan.architecture, os: "linux"))
        return BuiltImage(manifest: descriptor, config: config, layers: layers)
    }
}
