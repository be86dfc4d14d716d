import FerryCore

/// The `deploy:` section of `ferry.yaml`, with the command-line options'
/// names; options given on the command line win.
///
/// ```yaml
/// deploy:
///   target: kubernetes        # kserve, compose
///   name: digits
///   namespace: ml
///   min-replicas: 2
///   max-replicas: 8
///   cpu: "2"
///   memory: 2Gi
///   scale-on: queue           # cpu
///   prometheus-operator: true
/// ```
public struct DeploySettings: Sendable {
    public var target: DeploymentRequest.Target?
    public var name: String?
    public var namespace: String?
    public var replicas: Int?
    public var minReplicas: Int?
    public var maxReplicas: Int?
    public var cpu: String?
    public var cpuLimit: String?
    public var memory: String?
    public var scaleOn: DeploymentRequest.ScaleMetric?
    public var prometheusOperator: Bool?
    public var drainTimeout: Int?
    public var kserveMode: DeploymentRequest.KServeMode?
    public var storageURI: String?
    public var environment: [String: String] = [:]

    public init() {}

    public init(_ project: ProjectFile) throws(FerryError) {
        let section = try project.section("deploy")
        try section.allowOnly([
            "target", "name", "namespace", "replicas", "min-replicas", "max-replicas", "cpu", "cpu-limit", "memory", "scale-on",
            "prometheus-operator", "drain-timeout", "kserve-mode", "storage-uri", "env",
        ])
        func choice<Value: RawRepresentable & CaseIterable>(_ key: String, _: Value.Type) throws(FerryError) -> Value?
        where Value.RawValue == String {
            guard let text = try section.string(key) else { return nil }
            guard let value = Value(rawValue: text) else {
                let allowed = Value.allCases.map(\.rawValue).joined(separator: ", ")
                throw FerryError(.invalidArgument, "\(project.path): 'deploy.\(key)' must be one of \(allowed), not '\(text)'")
            }
            return value
        }
        target = try choice("target", DeploymentRequest.Target.self)
        name = try section.string("name")
        namespace = try section.string("namespace")
        replicas = try section.integer("replicas")
        minReplicas = try section.integer("min-replicas")
        maxReplicas = try section.integer("max-replicas")
        cpu = try section.string("cpu")
        cpuLimit = try section.string("cpu-limit")
        memory = try section.string("memory")
        scaleOn = try choice("scale-on", DeploymentRequest.ScaleMetric.self)
        prometheusOperator = try section.bool("prometheus-operator")
        drainTimeout = try section.integer("drain-timeout")
        kserveMode = try choice("kserve-mode", DeploymentRequest.KServeMode.self)
        storageURI = try section.string("storage-uri")
        environment = try section.stringMap("env") ?? [:]
    }
}
