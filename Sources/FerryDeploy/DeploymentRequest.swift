import FerryCore

/// What `ferry deploy` is asked for, checked before any manifest is written:
/// values that would make a broken deployment are refused with a message
/// that says which value and why.
public struct DeploymentRequest: Sendable {
    public enum Target: String, Sendable, CaseIterable {
        case kubernetes, kserve, compose
    }

    /// What the HorizontalPodAutoscaler follows.
    public enum ScaleMetric: String, Sendable, CaseIterable {
        /// CPU utilisation against the request (metrics-server).
        case cpu
        /// `ferry_inference_pending_request_count` per pod, through the Prometheus adapter.
        case queue
    }

    /// KServe's deployment modes (`serving.kserve.io/deploymentMode`).
    public enum KServeMode: String, Sendable, CaseIterable {
        /// Knative: request-based autoscaling, scale to zero.
        case serverless
        /// A plain Deployment and HPA, no Knative.
        case raw
    }

    public var target: Target
    /// The image reference the orchestrator pulls.
    public var image: String
    public var name: String
    public var namespace: String?
    /// A fixed number of replicas (no autoscaler); excludes min/max.
    public var replicas: Int?
    public var minReplicas: Int?
    public var maxReplicas: Int?
    public var cpu: ResourceQuantity
    /// A CPU limit; none by default (CPU limits throttle inference latency).
    public var cpuLimit: ResourceQuantity?
    /// Request and limit; derived from the models' size when not given.
    public var memory: ResourceQuantity?
    public var ports = ServerPorts()
    /// Seconds ferry serve lets in-flight requests finish after SIGTERM.
    public var drainTimeout = 30
    /// Seconds the pod keeps serving after it is told to stop, while endpoints are removed.
    public var preStopDelay = 5
    public var scaleOn: ScaleMetric = .cpu
    /// Target CPU utilisation (percent of the request).
    public var cpuUtilization = 70
    /// Target pending requests per pod (queued or running).
    public var pendingRequests = 4
    public var prometheusOperator = false
    public var kserveMode: KServeMode = .serverless
    /// Where KServe's storage initializer fetches the repository from; the
    /// image's own `/models` are served when nil.
    public var storageURI: String?
    /// The models' bytes on disk, when the repository was given.
    public var modelBytes: Int?
    public var environment: [(String, String)] = []
    /// A Secret of type kubernetes.io/tls (`tls.crt`, `tls.key`, as cert-manager
    /// writes it) that ferry serves HTTPS and gRPC over TLS with.
    public var tlsSecret: String?
    /// A Secret whose `api-keys` entry is the `--api-keys` file; its
    /// `metrics-token` entry, a key with the `metrics` scope, is what the
    /// ServiceMonitor scrapes with.
    public var apiKeySecret: String?
    /// Model artifacts (`oci://…`) the pods pull themselves at start, into a
    /// cache on an emptyDir, instead of serving the image's own `/models`.
    public var modelArtifacts: [String] = []
    /// A Secret of type kubernetes.io/dockerconfigjson with the credentials
    /// for the artifacts' registry (Compose: the file NAME/config.json).
    public var registrySecret: String?
    /// A Secret with the shared PostgreSQL job store: `url` (postgres://USER@HOST:PORT/DB?sslmode=…)
    /// and `password`, so every replica answers for every job. Compose: the
    /// file NAME/password, and a `postgres` service beside ferry.
    public var jobStoreSecret: String?
    /// GPUs, node selection, tolerations and the runtime class.
    public var placement = Placement()

    public init(target: Target, image: String, name: String, cpu: ResourceQuantity) {
        self.target = target
        self.image = image
        self.name = name
        self.cpu = cpu
    }

    /// The replica range after defaults: Kubernetes 2–10, KServe 1–10, Compose 1.
    public var replicaRange: ClosedRange<Int> {
        if let replicas { return replicas...replicas }
        let defaultMin = target == .kubernetes ? 2 : 1
        let low = minReplicas ?? min(defaultMin, maxReplicas ?? defaultMin)
        let high = maxReplicas ?? (target == .compose ? low : max(low, 10))
        return low...max(low, high)
    }

    /// Memory for the container: as asked, or the weights times the
    /// instances Ferry will run on the CPU asked for, plus a margin for ONNX
    /// Runtime's arena and the server; 1 GiB when the models are unknown.
    public var effectiveMemory: ResourceQuantity {
        if let memory { return memory }
        guard let modelBytes else { return ResourceQuantity(bytes: 1 << 30) }
        return ResourceQuantity(bytes: max(512 << 20, Int(Double(modelBytes * instances) * 1.5) + (256 << 20)))
    }

    /// Model instances `ferry serve` runs on `cpu` cores (one per core up to 4, then cores/2).
    var instances: Int {
        let cores = max(1, Int(cpu.value.rounded(.up)))
        return cores <= 4 ? cores : cores / 2
    }

    /// The least memory that can hold the weights once, and ferry itself.
    static let serverBytes = 64 << 20

    public func validate() throws(FerryError) {
        func fail(_ message: String) -> FerryError { FerryError(.invalidArgument, message) }
        guard Self.isDNSLabel(name, maximum: target == .kserve ? 45 : 63) else {
            throw fail(
                "--name '\(name)' must be a DNS label: lowercase letters, digits and '-', starting with a letter, at most \(target == .kserve ? 45 : 63) characters"
            )
        }
        for (option, secret) in [("--tls-secret", tlsSecret), ("--api-key-secret", apiKeySecret), ("--registry-secret", registrySecret), ("--job-store-secret", jobStoreSecret)] {
            if let secret, !Self.isDNSSubdomain(secret) {
                throw fail("\(option) '\(secret)' must be a Secret's name: lowercase letters, digits, '-' and '.', at most 253 characters")
            }
        }
        if target == .kserve && tlsSecret != nil {
            throw fail(
                "--tls-secret does not fit KServe: its ingress (Knative or Istio) terminates TLS and reaches the pod in plain HTTP; configure TLS there"
            )
        }
        if let namespace, !Self.isDNSLabel(namespace, maximum: 63, allowLeadingDigit: true) {
            throw fail("--namespace '\(namespace)' must be a DNS label: lowercase letters, digits and '-', at most 63 characters")
        }
        guard !image.isEmpty, !image.contains(where: \.isWhitespace) else { throw fail("the image '\(image)' is not an image reference") }
        for (option, value) in [("--replicas", replicas), ("--min-replicas", minReplicas), ("--max-replicas", maxReplicas)] {
            if let value, value < 0 { throw fail("\(option) must be 0 or more, not \(value)") }
        }
        if replicas != nil && (minReplicas != nil || maxReplicas != nil) {
            throw fail("give either --replicas (a fixed count) or --min-replicas/--max-replicas (a range to autoscale in), not both")
        }
        if let low = minReplicas, let high = maxReplicas, high < low {
            throw fail("--max-replicas \(high) is below --min-replicas \(low)")
        }
        if let high = maxReplicas, high == 0 { throw fail("--max-replicas must be at least 1") }
        switch target {
        case .kubernetes:
            if replicaRange.lowerBound == 0 && replicaRange.upperBound > 0 {
                throw fail(
                    "--min-replicas 0 needs scale to zero, which a HorizontalPodAutoscaler cannot do; use --target kserve (serverless) for it"
                )
            }
        case .kserve:
            if kserveMode == .raw && replicaRange.lowerBound == 0 {
                throw fail("--min-replicas 0 (scale to zero) needs KServe's serverless mode, not --kserve-mode raw")
            }
        case .compose:
            if maxReplicas != nil && maxReplicas != minReplicas {
                throw fail("Compose and Swarm do not autoscale: give --replicas, not a --min-replicas/--max-replicas range")
            }
        }
        if let cpuLimit, cpuLimit.value < cpu.value { throw fail("--cpu-limit \(cpuLimit) is below the --cpu request \(cpu)") }
        if let modelBytes {
            let needed = modelBytes + Self.serverBytes
            if effectiveMemory.bytes < needed {
                throw fail(
                    "--memory \(effectiveMemory) is below what the models need: their weights are \(ResourceQuantity.megabytes(modelBytes)) and ferry itself about 64 MiB, so give at least \(ResourceQuantity(bytes: needed))"
                )
            }
        }
        guard ports.areValid else {
            throw fail("the HTTP, gRPC and metrics ports must be three different ports from 1 to 65535")
        }
        guard drainTimeout >= 0, drainTimeout <= 3600 else { throw fail("--drain-timeout must be from 0 to 3600 seconds") }
        guard (1...100).contains(cpuUtilization) else { throw fail("--cpu-utilization must be a percentage from 1 to 100") }
        guard pendingRequests >= 1 else { throw fail("--pending-requests must be at least 1") }
        if storageURI != nil && target != .kserve { throw fail("--storage-uri is for --target kserve") }
        for artifact in modelArtifacts {
            let reference = artifact.dropFirst(Self.artifactScheme.count)
            guard artifact.hasPrefix(Self.artifactScheme), reference.contains("/"), !reference.contains(where: \.isWhitespace) else {
                throw fail("--model '\(artifact)' must be a model artifact oci://REGISTRY/REPOSITORY[:TAG|@DIGEST], as ferry push-model prints it")
            }
        }
        if !modelArtifacts.isEmpty && storageURI != nil {
            throw fail(
                "give either --model oci://… (ferry pulls the artifacts itself) or --storage-uri (KServe's storage initializer fills /mnt/models), not both"
            )
        }
        if registrySecret != nil && modelArtifacts.isEmpty { throw fail("--registry-secret is for pulling --model artifacts") }
        try placement.validate()
        if target == .compose && !placement.tolerations.isEmpty {
            throw fail("--toleration is for Kubernetes taints; Swarm places tasks by --node-selector (node labels) alone")
        }
    }

    static let artifactScheme = "oci://"

    /// The Compose target's own PostgreSQL: the service, and ferry's URL for it.
    static let composeJobStoreService = "postgres"
    static let composeJobStoreURL = "postgres://ferry@postgres:5432/ferry?sslmode=disable"

    /// Where the pods keep the artifacts they pull (an emptyDir; a volume in Compose, kept across restarts).
    static let modelCacheDirectory = "/var/cache/ferry/models"
    /// Where the registry credentials are mounted, as Docker's config directory.
    static let registryConfigDirectory = "/etc/ferry/registry"

    /// The command line that serves the artifacts, replacing the image's
    /// entrypoint (which serves `/models`); nil without artifacts.
    func artifactCommand(ports: ServerPorts) -> [String]? {
        guard !modelArtifacts.isEmpty else { return nil }
        return ["/usr/local/bin/ferry", "serve"] + modelArtifacts + [
            "--host", "0.0.0.0", "--model-cache", Self.modelCacheDirectory, "--http-port", String(ports.http), "--grpc-port",
            String(ports.grpc), "--metrics-port", String(ports.metrics),
        ]
    }

    /// RFC 1035 labels (Service names): `[a-z]([-a-z0-9]*[a-z0-9])?`.
    /// RFC 1123 subdomain, as Kubernetes names most objects.
    static func isDNSSubdomain(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 253
            && text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNSLabel(String($0), maximum: 63, allowLeadingDigit: true) }
    }

    static func isDNSLabel(_ text: String, maximum: Int, allowLeadingDigit: Bool = false) -> Bool {
        guard let first = text.first, let last = text.last, text.count <= maximum else { return false }
        let allowed = { (character: Character) in character.isASCII && (character.isLowercase || character.isNumber || character == "-") }
        return text.allSatisfy(allowed) && (first.isLowercase || (allowLeadingDigit && first.isNumber)) && last != "-"
    }

    /// Seconds Kubernetes waits after SIGTERM before SIGKILL: the pre-stop
    /// delay, the drain, and a margin, so the drain always finishes.
    public var terminationGracePeriod: Int { preStopDelay + drainTimeout + 10 }
}
