import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What goes into an image built by `ferry build`.
public struct ImageRecipe: Sendable {
    /// The `ferry` executable to run in the image.
    public var executable: URL
    /// `libonnxruntime.so`, which `ferry` opens at run time.
    public var onnxRuntime: URL
    /// The model repository: each model folder becomes a layer under `/models`.
    public var repository: URL
    public var compression: LayerCompression
    /// Seconds since 1970 for every file and the image's creation time
    /// (`SOURCE_DATE_EPOCH`); 0 by default, so builds repeat exactly.
    public var sourceDateEpoch: Int
    public var labels: [String: String]
    public var environment: [String]
    /// Packs a copy of `executable` without symbols and debug info (a
    /// release `ferry` shrinks from ~137 MB to ~34 MB); needs binutils' `strip`.
    public var strip: Bool

    public init(
        executable: URL, onnxRuntime: URL, repository: URL, compression: LayerCompression = .automatic,
        sourceDateEpoch: Int = 0, labels: [String: String] = [:], environment: [String] = [], strip: Bool = true
    ) {
        self.strip = strip
        self.executable = executable
        self.onnxRuntime = onnxRuntime
        self.repository = repository
        self.compression = compression
        self.sourceDateEpoch = sourceDateEpoch
        self.labels = labels
        self.environment = environment
    }
}

/// The result of a build: the manifest's descriptor and the layers, base first.
public struct BuiltImage: Sendable {
    public var manifest: Descriptor
    public var config: Descriptor
    public var layers: [Layer]
}

/// Builds an OCI image without a container engine: base (the scratch root
/// filesystem), runtime (`ferry` and ONNX Runtime) and one layer per model,
/// so a code change reuses the model layers and a new model version reuses
/// the runtime. Every layer is deterministic.
public struct ImageBuilder: Sendable {
    public static let executablePath = "usr/local/bin/ferry"
    public static let onnxRuntimeDirectory = "usr/local/lib"
    public static let ports = [8000, 8001, 8002]

    public let layout: OCILayout

    public init(layout: OCILayout) { self.layout = layout }

    public func build(_ recipe: ImageRecipe, progress: (String) -> Void = { _ in }) throws(FerryError) -> BuiltImage {
        let models = try modelDirectories(recipe.repository)
        let onnxRuntimePath = "\(Self.onnxRuntimeDirectory)/\(recipe.onnxRuntime.lastPathComponent)"
        let packed = try PackedExecutable.prepare(recipe.executable.resolvingSymlinksInPath(), strip: recipe.strip)
        defer { packed.remove() }
        if recipe.strip { progress("stripped \(recipe.executable.lastPathComponent) of symbols and debug info") }
        if !packed.leftOut.isEmpty {
            progress(
                "left out \(packed.leftOut.joined(separator: ", ")): \(recipe.executable.lastPathComponent) uses none of their symbols")
        }
        let executable = packed.url
        let runtime = RootFilesystem.withParentDirectories([
            TarEntry(path: Self.executablePath, content: .file(executable), mode: 0o755),
            TarEntry(path: onnxRuntimePath, content: .file(recipe.onnxRuntime.resolvingSymlinksInPath()), mode: 0o755),
        ])
        let base = try RootFilesystem.entries(libraryClosureOf: [executable, recipe.onnxRuntime])

        var layers: [Layer] = []
        layers.append(try writeLayer(base, title: "base", gzip: recipe.compression != .none, recipe: recipe, progress: progress))
        layers.append(try writeLayer(runtime, title: "runtime", gzip: recipe.compression != .none, recipe: recipe, progress: progress))
        for model in models {
            let entries = try RootFilesystem.tree(model, under: "models/\(model.lastPathComponent)")
            // Weights barely compress: gzip would cost time for nothing unless asked for.
            layers.append(
                try writeLayer(
                    RootFilesystem.withParentDirectories(entries), title: "model \(model.lastPathComponent)",
                    gzip: recipe.compression == .gzip, recipe: recipe, progress: progress))
        }

        let created = Date(timeIntervalSince1970: TimeInterval(recipe.sourceDateEpoch)).formatted(.iso8601)
        var labels = recipe.labels
        labels["org.opencontainers.image.created"] = created
        labels["dev.ferry.models"] = models.map(\.lastPathComponent).joined(separator: ",")
        let configuration = ImageConfiguration(
            created: created,
            architecture: Self.architecture,
            os: "linux",
            config: .init(
                User: "\(RootFilesystem.user):\(RootFilesystem.user)",
                ExposedPorts: Dictionary(uniqueKeysWithValues: Self.ports.map { ("\($0)/tcp", [:]) }),
                Env: [
                    "PATH=/usr/local/bin:/usr/bin:/bin",
                    "FERRY_ONNXRUNTIME_LIB=/\(onnxRuntimePath)",
                    // The image's root may be read-only (Kubernetes): keep jobs in /tmp unless a volume is named.
                    "FERRY_JOB_STORE=/tmp/ferry/jobs.sqlite",
                    "FERRY_LOG_FORMAT=json",
                ] + recipe.environment,
                Entrypoint: ["/\(Self.executablePath)", "serve", "/models", "--host", "0.0.0.0"],
                WorkingDir: "/home/nonroot",
                Labels: labels
            ),
            rootfs: .init(diff_ids: layers.map(\.diffID)),
            history: layers.map { .init(created: created, created_by: "ferry build: \($0.title)") }
        )
        let configData = try CanonicalJSON.encode(configuration)
        let config = Descriptor(mediaType: MediaType.config, digest: try layout.putBlob(configData), size: configData.count)
        let manifest = ImageManifest(
            config: config,
            layers: layers.map {
                Descriptor(
                    mediaType: $0.mediaType, digest: $0.digest, size: $0.size, annotations: ["org.opencontainers.image.title": $0.title])
            },
            annotations: labels.filter { $0.key.hasPrefix("org.opencontainers.image.") }
        )
        let manifestData = try CanonicalJSON.encode(manifest)
        let descriptor = Descriptor(
            mediaType: MediaType.manifest, digest: try layout.putBlob(manifestData), size: manifestData.count,
            platform: Platform(architecture: Self.architecture, os: "linux"))
        return BuiltImage(manifest: descriptor, config: config, layers: layers)
    }

    private func writeLayer(
        _ entries: [TarEntry], title: String, gzip: Bool, recipe: ImageRecipe, progress: (String) -> Void
    ) throws(FerryError) -> Layer {
        progress("packing \(title)")
        let temporary = layout.temporaryBlob()
        let layer = try LayerWriter(modificationTime: recipe.sourceDateEpoch).write(entries, title: title, gzip: gzip, to: temporary)
        try layout.commit(temporary, as: layer.digest)
        return layer
    }

    /// Model folders of the repository (those with a numeric version folder or a config).
    private func modelDirectories(_ repository: URL) throws(FerryError) -> [URL] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: repository.path) else {
            throw FerryError(.notFound, "cannot read the model repository '\(repository.path)'")
        }
        let models = names.sorted().filter { !$0.hasPrefix(".") }.map { repository.appendingPathComponent($0) }.filter {
            FileSystem.isDirectory($0.path)
        }
        guard !models.isEmpty else { throw FerryError(.invalidArgument, "'\(repository.path)' holds no model folders") }
        return models
    }

    static var architecture: String {
        #if arch(x86_64)
            "amd64"
        #elseif arch(arm64)
            "arm64"
        #else
            "unknown"
        #endif
    }
}
