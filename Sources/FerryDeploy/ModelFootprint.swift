import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The bytes a model repository's models take on disk: what ONNX Runtime
/// must at least hold in memory to serve them.
public enum ModelFootprint {
    /// Every regular file under the repository (or the one `.onnx` file).
    public static func bytes(of repository: String) throws(FerryError) -> Int {
        switch FileSystem.kind(of: repository) {
        case .regular?:
            return FileSystem.size(of: repository) ?? 0
        case .directory?:
            guard let paths = try? FileManager.default.subpathsOfDirectory(atPath: repository) else {
                throw FerryError(.notFound, "cannot read the model repository '\(repository)'")
            }
            return paths.reduce(0) { total, path in
                let full = repository + "/" + path
                return total + (FileSystem.kind(of: full) == .regular ? FileSystem.size(of: full) ?? 0 : 0)
            }
        default:
            throw FerryError(.notFound, "cannot read the model repository '\(repository)'")
        }
    }
}
