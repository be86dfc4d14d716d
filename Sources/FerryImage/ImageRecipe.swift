import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What goes into an image built by `ferry build`.
public struct ImageRecipe: Sendable {
    /// What the image's first layers are.
    public enum Base: Sendable {
        /// A minimal root filesystem Ferry assembles: the dynamic loader and
        /// the libraries `ferry` and ONNX Runtime need, a non-root user,
        /// `/tmp` and CA certificates.
        case scratch
        /// An image pulled from a registry, whose layers are kept as they are.
        case image(PulledImage)
    }

    /// The `ferry` executable to run in the image.
    public var executable: URL
    /// `libonnxruntime.so`, which `ferry` opens at run time.
    public var onnxRuntime: URL
    /// A model repository (each model folder becomes a layer under
    /// `/models`) or one `.onnx` file (a repository of one model named after it).
    public var repository: URL
    /// The models of the repository to include; all when nil.
    public var models: [String]?
    public var base: Base = .scratch
    public var compression: LayerCompression = .automatic
    /// What `ferry serve` listens on in the container.
    public var ports = ServerPorts()
    /// Seconds since 1970 for every file and the image's creation time
    /// (`SOURCE_DATE_EPOCH`); 0 by default, so builds repeat exactly.
    public var sourceDateEpoch = 0
    public var labels: [String: String] = [:]
    /// `KEY=VALUE` entries for the server's environment.
    public var environment: [String] = []
    /// Packs a copy of `executable` without symbols and debug info (a
    /// release `ferry` shrinks from ~137 MB to ~34 MB); needs binutils' `strip`.
    public var strip = true
    /// Packs ONNX Runtime's GPU providers and the CUDA libraries beside
    /// `onnxRuntime` (`ferry build --gpu`), and sets what the NVIDIA container
    /// toolkit reads.
    public var gpu = false

    public init(executable: URL, onnxRuntime: URL, repository: URL) {
        self.executable = executable
        self.onnxRuntime = onnxRuntime
        self.repository = repository
    }
}
