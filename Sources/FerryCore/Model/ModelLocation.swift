#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Which model a path on the command line names.
///
/// In Triton's repository layout `REPO/NAME/VERSION/model.onnx` is model NAME,
/// version VERSION, and a model directory `REPO/NAME` means its highest
/// version; any other `FILE.onnx` is a model named after the file.
public struct ModelLocation: Sendable, Hashable {
    public var file: String
    public var name: String
    public var version: String?

    public init(path: String) throws(FerryError) {
        guard let kind = FileSystem.kind(of: path) else {
            let url = URL(fileURLWithPath: path)
            throw FerryError(.notFound, "model '\(url.deletingPathExtension().lastPathComponent)': no model file at \(path)")
        }
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if kind == .directory {
            let versions = ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [])
                .compactMap { Int64($0) }
                .filter { FileManager.default.fileExists(atPath: url.appendingPathComponent("\($0)/model.onnx").path) }
            guard let latest = versions.max() else {
                throw FerryError(.notFound, "model directory \(path) has no VERSION/model.onnx")
            }
            self.file = url.appendingPathComponent("\(latest)/model.onnx").path
            self.name = url.lastPathComponent
            self.version = String(latest)
            return
        }
        let versionDirectory = url.deletingLastPathComponent()
        if Int64(versionDirectory.lastPathComponent) != nil, url.lastPathComponent == "model.onnx" {
            self.file = url.path
            self.name = versionDirectory.deletingLastPathComponent().lastPathComponent
            self.version = versionDirectory.lastPathComponent
        } else {
            self.file = url.path
            self.name = url.deletingPathExtension().lastPathComponent
            self.version = nil
        }
    }
}
