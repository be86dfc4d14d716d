import ArgumentParser
import FerryCore
import FerryDeploy
import FerryImage

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct DeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Write what Kubernetes, KServe or Docker Compose/Swarm need to run a Ferry image at scale.",
        discussion: """
            kubernetes: Deployment, Service, HorizontalPodAutoscaler, PodDisruptionBudget (and a ServiceMonitor with \
            --prometheus-operator). kserve: ServingRuntime and InferenceService. compose: a Compose file for \
            docker compose up and docker stack deploy. Defaults come from ferry.yaml (deploy: and image:). \
            Values that would make a broken deployment are refused.
            """
    )

    @Argument(help: ArgumentHelp("The image to run, as the cluster pulls it (default: image.name in ferry.yaml).", valueName: "image"))
    var image: String?

    @Option(help: ArgumentHelp("kubernetes, kserve or compose.", valueName: "target"))
    var target: DeploymentRequest.Target?

    @Option(help: "Name of the objects (default: the image's repository name).")
    var name: String?

    @Option(help: "Kubernetes namespace (default: the one kubectl applies to).")
    var namespace: String?

    @Option(help: "A fixed number of replicas, without an autoscaler.")
    var replicas: Int?

    @Option(help: "Fewest replicas the autoscaler keeps (default 2; 1 for KServe, which allows 0).")
    var minReplicas: Int?

    @Option(help: "Most replicas the autoscaler starts (default 10).")
    var maxReplicas: Int?

    @Option(help: ArgumentHelp("CPU request per replica (Kubernetes quantity: 500m, 2).", valueName: "quantity"))
    var cpu: String?

    @Option(help: ArgumentHelp("CPU limit per replica (default: none, which keeps inference from being throttled).", valueName: "quantity"))
    var cpuLimit: String?

    @Option(help: ArgumentHelp("Memory request and limit per replica (default: from the models' size, else 1Gi).", valueName: "quantity"))
    var memory: String?

    @Option(
        help: ArgumentHelp(
            "What the autoscaler follows: cpu, or queue (pending requests per pod, via the Prometheus adapter).", valueName: "metric"))
    var scaleOn: DeploymentRequest.ScaleMetric?

    @Option(help: "With --scale-on cpu: the target utilisation, percent of the request.")
    var cpuUtilization = 70

    @Option(help: "With --scale-on queue, and KServe's concurrency target: pending requests per pod.")
    var pendingRequests = 4

    @Flag(help: "Also write a ServiceMonitor for the Prometheus Operator.")
    var prometheusOperator = false

    @Option(help: "Seconds ferry serve lets requests in flight finish after SIGTERM (the pod's grace period is longer).")
    var drainTimeout: Int?

    @Option(help: ArgumentHelp("KServe: serverless (Knative, scale to zero) or raw (Deployment and HPA).", valueName: "mode"))
    var kserveMode: DeploymentRequest.KServeMode?

    @Option(
        help: ArgumentHelp(
            "KServe: serve the repository at this URI (s3://, gs://, pvc://, or oci:// for a KServe modelcar image) instead of the image's /models.", valueName: "uri"))
    var storageUri: String?

    @Flag(help: "KServe: route the v2 gRPC protocol (grpc-v2) instead of REST.")
    var grpc = false

    @Option(
        help: ArgumentHelp(
            "A TLS Secret (tls.crt, tls.key; cert-manager's) to serve HTTPS and gRPC over TLS with; probes switch to HTTPS. Compose: files NAME/tls.crt and NAME/tls.key.",
            valueName: "secret"))
    var tlsSecret: String?

    @Option(
        help: ArgumentHelp(
            "A Secret whose 'api-keys' entry is the --api-keys file (and 'metrics-token', a key with the metrics scope, for the ServiceMonitor). Compose: the file NAME/api-keys.",
            valueName: "secret"))
    var apiKeySecret: String?

    @Option(
        name: .customLong("model"),
        help: ArgumentHelp(
            "A model artifact (oci://REGISTRY/REPOSITORY:TAG|@DIGEST, from ferry push-model) the pods pull at start into a cache on an emptyDir, instead of serving the image's /models (repeatable).",
            valueName: "oci-reference"))
    var modelArtifacts: [String] = []

    @Option(
        help: ArgumentHelp(
            "A kubernetes.io/dockerconfigjson Secret with the credentials for --model's registry (Compose: the file NAME/config.json).",
            valueName: "secret"))
    var registrySecret: String?

    @Option(
        help: ArgumentHelp(
            "A Secret with the shared PostgreSQL job store ('url': postgres://USER@HOST:PORT/DB?sslmode=…, 'password'): every replica answers for every async job. Compose: the file NAME/password and a postgres service with a volume.",
            valueName: "secret"))
    var jobStoreSecret: String?

    @Option(help: "GPUs per replica (nvidia.com/gpu; Compose: a device reservation for the NVIDIA runtime).")
    var gpus: Int?

    @Option(
        help: ArgumentHelp(
            "A node label the pods' nodes must carry, such as cloud.google.com/gke-accelerator=nvidia-l4 (repeatable; Swarm: a placement constraint).",
            valueName: "key=value"))
    var nodeSelector: [String] = []

    @Option(
        help: ArgumentHelp(
            "A taint the pods tolerate (repeatable). With --gpus and none given: nvidia.com/gpu:NoSchedule, the taint GPU node pools carry.",
            valueName: "key[=value][:effect]"))
    var toleration: [String] = []

    @Option(help: ArgumentHelp("The RuntimeClass for the pods, such as nvidia (Compose: the Docker runtime).", valueName: "name"))
    var runtimeClass: String?

    @Option(
        help: ArgumentHelp("The model repository the image holds: sizes the memory, and ferry.yaml is found next to it.", valueName: "path")
    )
    var repository: String?

    @Option(help: ArgumentHelp("The project file (default: ferry.yaml next to --repository, or in this folder).", valueName: "path"))
    var config: String?

    @Option(
        name: .customLong("env"),
        help: ArgumentHelp("An environment variable KEY=VALUE for the server (repeatable).", valueName: "key=value"))
    var environment: [String] = []

    @Option(help: ArgumentHelp("A folder to write one file per object into, or - for one YAML stream on stdout.", valueName: "dir"))
    var output = "-"

    func validate() throws {
        for pair in environment where !pair.contains("=") { throw ValidationError("'\(pair)' is not KEY=VALUE") }
    }

    func run() async throws {
        try await reportingFailures {
            let project: ProjectFile?
            if let repository {
                project = try ProjectFile.find(nextTo: repository, explicit: config)
            } else if let config {
                project = try ProjectFile.load(config)
            } else {
                project = FileSystem.isRegularFile(ProjectFile.fileName) ? try ProjectFile.load(ProjectFile.fileName) : nil
            }
            let settings = try project.map(DeploySettings.init) ?? DeploySettings()
            let imageSettings = try project.map(ImageSettings.init) ?? ImageSettings()

            guard let image = image ?? imageSettings.name?.description else {
                throw FerryError(.invalidArgument, "name the image to deploy (or set image.name in ferry.yaml)")
            }
            guard let target = target ?? settings.target else {
                throw FerryError(.invalidArgument, "say what to deploy to: --target kubernetes, kserve or compose")
            }
            let name = try name ?? settings.name ?? Self.defaultName(for: image)
            var request = DeploymentRequest(
                target: target, image: image, name: name, cpu: try ResourceQuantity(parsing: cpu ?? settings.cpu ?? "1", what: "--cpu"))
            request.namespace = namespace ?? settings.namespace
            // Command-line replica options replace ferry.yaml's as a group, so a --replicas here and a range there do not collide.
            if replicas != nil || minReplicas != nil || maxReplicas != nil {
                (request.replicas, request.minReplicas, request.maxReplicas) = (replicas, minReplicas, maxReplicas)
            } else {
                (request.replicas, request.minReplicas, request.maxReplicas) = (
                    settings.replicas, settings.minReplicas, settings.maxReplicas
                )
            }
            request.cpuLimit = try (cpuLimit ?? settings.cpuLimit).map { text throws(FerryError) in
                try ResourceQuantity(parsing: text, what: "--cpu-limit")
            }
            request.memory = try (memory ?? settings.memory).map { text throws(FerryError) in
                try ResourceQuantity(parsing: text, what: "--memory")
            }
            request.ports = imageSettings.ports
            request.drainTimeout = drainTimeout ?? settings.drainTimeout ?? 30
            request.scaleOn = scaleOn ?? settings.scaleOn ?? .cpu
            request.cpuUtilization = cpuUtilization
            request.pendingRequests = pendingRequests
            request.prometheusOperator = prometheusOperator || (settings.prometheusOperator ?? false)
            request.kserveMode = kserveMode ?? settings.kserveMode ?? .serverless
            request.storageURI = storageUri ?? settings.storageURI
            request.tlsSecret = tlsSecret
            request.apiKeySecret = apiKeySecret
            request.modelArtifacts = modelArtifacts
            request.registrySecret = registrySecret
            request.jobStoreSecret = jobStoreSecret
            request.placement.gpus = gpus
            request.placement.nodeSelector = try nodeSelector.map(Placement.Label.init(parsing:))
            request.placement.tolerations = try toleration.map(Placement.Toleration.init(parsing:))
            request.placement.runtimeClass = runtimeClass
            request.environment =
                settings.environment.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
                + environment.map { pair in
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
                }
            if let repository { request.modelBytes = try ModelFootprint.bytes(of: repository) }

            let files = try Deployment.files(request, grpc: grpc)
            if target == .compose && request.replicaRange.lowerBound > 1 {
                StandardStreams.writeError(
                    "ferry deploy: docker compose up publishes each port once, so it starts 1 of the \(request.replicaRange.lowerBound) replicas per host port; docker stack deploy (Swarm's routing mesh) runs them all\n"
                )
            }
            if output == "-" {
                StandardStreams.writeOutput(Array(Deployment.stream(files).utf8))
                return
            }
            let directory = URL(fileURLWithPath: output)
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                for file in files {
                    let path = directory.appendingPathComponent(file.name)
                    try Data(file.text.utf8).write(to: path)
                    writeStandardOutput(Data(path.path.utf8))
                }
            } catch {
                throw FerryError(.failedPrecondition, "cannot write the manifests into '\(output)': \(FerryError.describe(error))")
            }
        }
    }

    /// The repository's last component without tag or digest (`registry/team/digits:v1` → `digits`), as a DNS label.
    static func defaultName(for image: String) throws(FerryError) -> String {
        var reference = Substring(image)
        if let at = reference.firstIndex(of: "@") { reference = reference[..<at] }
        var last = reference.split(separator: "/").last ?? reference
        if let colon = last.lastIndex(of: ":") { last = last[..<colon] }
        let name = String(last.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }).trimmingDashes
        guard let first = name.first, first.isLetter else {
            throw FerryError(.invalidArgument, "cannot make a name from the image '\(image)'; pass --name")
        }
        return String(name.prefix(45)).trimmingDashes
    }
}

extension String {
    fileprivate var trimmingDashes: String {
        String(drop { $0 == "-" }.reversed().drop { $0 == "-" }.reversed())
    }
}

extension DeploymentRequest.Target: ExpressibleByArgument {}
extension DeploymentRequest.ScaleMetric: ExpressibleByArgument {}
extension DeploymentRequest.KServeMode: ExpressibleByArgument {}
