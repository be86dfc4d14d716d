import FerryCore

/// The `image:` section of `ferry.yaml`; command-line options win over it.
///
/// ```yaml
/// image:
///   name: registry.example.com/team/digits:v1   # where --push goes by default
///   base: scratch                               # or REGISTRY/REPOSITORY:TAG|@DIGEST
///   models: [digits]                            # the repository's models to include (default: all)
///   ports: {http: 8000, grpc: 8001, metrics: 8002}
///   env: {FERRY_MAX_REQUEST_BYTES: "1048576"}
///   labels: {org.opencontainers.image.description: "Digits classifier"}
///   compression: automatic                      # gzip, none
/// ```
public struct ImageSettings: Sendable {
    public var name: ImageReference?
    /// `scratch` or an image reference.
    public var base: String?
    public var models: [String]?
    public var ports = ServerPorts()
    public var environment: [String: String] = [:]
    public var labels: [String: String] = [:]
    public var compression: LayerCompression?

    public init() {}

    public init(_ project: ProjectFile) throws(FerryError) {
        let section = try project.section("image")
        try section.allowOnly(["name", "base", "models", "ports", "env", "labels", "compression"])
        if let name = try section.string("name") {
            do {
                self.name = try ImageReference(parsing: name)
            } catch {
                throw FerryError(.invalidArgument, "\(project.path): 'image.name': \(error.message)")
            }
        }
        base = try section.string("base")
        models = try section.strings("models")
        if let ports = try section.section("ports") {
            try ports.allowOnly(["http", "grpc", "metrics"])
            for (key, path) in [("http", \ServerPorts.http), ("grpc", \.grpc), ("metrics", \.metrics)] {
                guard let port = try ports.integer(key) else { continue }
                guard (1...65535).contains(port) else {
                    throw FerryError(.invalidArgument, "\(project.path): 'image.ports.\(key)' must be a port from 1 to 65535, not \(port)")
                }
                self.ports[keyPath: path] = port
            }
            guard self.ports.areValid else {
                throw FerryError(.invalidArgument, "\(project.path): 'image.ports' must give HTTP, gRPC and metrics three different ports")
            }
        }
        environment = try section.stringMap("env") ?? [:]
        labels = try section.stringMap("labels") ?? [:]
        if let text = try section.string("compression") {
            guard let compression = LayerCompression(rawValue: text) else {
                throw FerryError(.invalidArgument, "\(project.path): 'image.compression' must be gzip, none or automatic, not '\(text)'")
            }
            self.compression = compression
        }
    }
}
