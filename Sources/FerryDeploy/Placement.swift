import FerryCore

/// Where the pods may run and what device they get: GPUs, node labels,
/// taints they tolerate, and the container runtime class.
public struct Placement: Sendable, Equatable {
    /// GPUs per replica (`nvidia.com/gpu`); nil: none.
    public var gpus: Int?
    /// Node labels a pod's node must carry (`--node-selector KEY=VALUE`).
    public var nodeSelector: [Label] = []
    /// Taints the pods tolerate (`--toleration KEY[=VALUE][:EFFECT]`).
    public var tolerations: [Toleration] = []
    /// A RuntimeClass such as `nvidia`, for clusters whose GPU nodes keep the
    /// NVIDIA container runtime apart from the default one.
    public var runtimeClass: String?

    public init() {}

    public struct Label: Sendable, Equatable {
        public var key: String
        public var value: String

        public init(parsing text: String) throws(FerryError) {
            let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, Placement.isLabelKey(parts[0]), Placement.isLabelValue(parts[1]) else {
                throw FerryError(
                    .invalidArgument,
                    "--node-selector '\(text)' must be KEY=VALUE with a Kubernetes label key (optionally prefix/) and value, such as cloud.google.com/gke-accelerator=nvidia-l4"
                )
            }
            key = String(parts[0])
            value = String(parts[1])
        }
    }

    public struct Toleration: Sendable, Equatable {
        public static let effects = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
        public var key: String
        /// nil: any value (operator Exists).
        public var value: String?
        /// nil: every effect.
        public var effect: String?

        public init(key: String, value: String? = nil, effect: String? = nil) {
            self.key = key
            self.value = value
            self.effect = effect
        }

        public init(parsing text: String) throws(FerryError) {
            var rest = Substring(text)
            var effect: String?
            if let colon = rest.lastIndex(of: ":") {
                effect = String(rest[rest.index(after: colon)...])
                rest = rest[..<colon]
            }
            let parts = rest.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard Placement.isLabelKey(parts[0]), parts.count == 1 || Placement.isLabelValue(parts[1]),
                effect.map(Self.effects.contains) ?? true
            else {
                throw FerryError(
                    .invalidArgument,
                    "--toleration '\(text)' must be KEY[=VALUE][:EFFECT] with EFFECT one of \(Self.effects.joined(separator: ", ")), such as nvidia.com/gpu:NoSchedule"
                )
            }
            self.init(key: String(parts[0]), value: parts.count == 2 ? String(parts[1]) : nil, effect: effect)
        }

        var manifest: ManifestNode {
            .map([
                ("key", .string(key)), ("operator", value == nil ? "Exists" : "Equal"), ("value", value.map(ManifestNode.string)),
                ("effect", effect.map(ManifestNode.string)),
            ])
        }
    }

    /// GPU node pools are commonly tainted `nvidia.com/gpu` (GKE, AKS, the
    /// NVIDIA GPU Operator's docs): pods asking for GPUs tolerate it unless
    /// told which taints to tolerate.
    public var effectiveTolerations: [Toleration] {
        tolerations.isEmpty && gpus != nil ? [Toleration(key: Self.gpuResource, effect: "NoSchedule")] : tolerations
    }

    public static let gpuResource = "nvidia.com/gpu"

    var nodeSelectorManifest: ManifestNode? {
        nodeSelector.isEmpty ? nil : .map(nodeSelector.map { ($0.key, .string($0.value)) })
    }

    var tolerationsManifest: ManifestNode? {
        effectiveTolerations.isEmpty ? nil : .list(effectiveTolerations.map(\.manifest))
    }

    func validate() throws(FerryError) {
        if let gpus, gpus < 1 { throw FerryError(.invalidArgument, "--gpus must be at least 1, not \(gpus)") }
        if let runtimeClass, !DeploymentRequest.isDNSSubdomain(runtimeClass) {
            throw FerryError(
                .invalidArgument, "--runtime-class '\(runtimeClass)' must be a RuntimeClass name: lowercase letters, digits, '-' and '.'")
        }
    }

    /// `[prefix/]name`: the name 1-63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric; the prefix a DNS subdomain.
    static func isLabelKey(_ key: Substring) -> Bool {
        let parts = key.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2 && !DeploymentRequest.isDNSSubdomain(String(parts[0])) { return false }
        guard let name = parts.last, !name.isEmpty else { return false }
        return isLabelValue(name)
    }

    /// Empty, or 1-63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric.
    static func isLabelValue(_ value: Substring) -> Bool {
        guard !value.isEmpty else { return true }
        func alphanumeric(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber) }
        return value.count <= 63 && alphanumeric(value.first!) && alphanumeric(value.last!)
            && value.allSatisfy { alphanumeric($0) || $0 == "-" || $0 == "_" || $0 == "." }
    }
}
