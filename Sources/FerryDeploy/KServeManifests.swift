import FerryCore

/// KServe objects: a `ServingRuntime` that declares Ferry for the `onnx`
/// model format and the v2 protocols, and an `InferenceService` that uses it
/// (serving.kserve.io/v1alpha1 and v1beta1, as KServe's CRDs define them).
///
/// KServe's conventions, which its controller and webhooks rely on: the
/// container is named `kserve-container`, HTTP is served on 8080 and gRPC on
/// 9000 (Knative routes one port: 8080, or 9000 named `h2c` for gRPC), and
/// `prometheus.kserve.io/port` tells the queue-proxy where metrics are.
enum KServeManifests {
    static let httpPort = 8080
    static let grpcPort = 9000

    static func files(_ request: DeploymentRequest, grpc: Bool) -> [GeneratedFile] {
        [
            GeneratedFile(name: "servingruntime.yaml", document: servingRuntime(request)),
            GeneratedFile(name: "inferenceservice.yaml", document: inferenceService(request, grpc: grpc)),
        ]
    }

    static func runtimeName(_ request: DeploymentRequest) -> String { "\(request.name)-ferry" }

    static func servingRuntime(_ request: DeploymentRequest) -> ManifestNode {
        var arguments: [ManifestNode] = []
        var command: ManifestNode?
        let ports = ServerPorts(http: httpPort, grpc: grpcPort, metrics: request.ports.metrics)
        if let serving = request.artifactCommand(ports: ports) {
            // Ferry pulls the artifacts itself: no storage initializer, no storageUri.
            command = [.string(serving[0])]
            arguments = serving.dropFirst().map(ManifestNode.string)
        } else {
            if request.storageURI != nil {
                // KServe's storage initializer puts the repository in /mnt/models.
                command = ["/usr/local/bin/ferry"]
                arguments = ["serve", "/mnt/models", "--host", "0.0.0.0"]
            }
            arguments += [
                "--http-port", .string(String(httpPort)), "--grpc-port", .string(String(grpcPort)), "--metrics-port",
                .string(String(request.ports.metrics)),
            ]
        }
        var container = KubernetesManifests.container(
            request, name: "kserve-container", ports: request.ports, probes: false, arguments: .list(arguments), command: command)
        if case .map(var members) = container {
            let index = members.firstIndex { $0.0 == "resources" }.map { $0 + 1 } ?? members.count
            members.insert(
                contentsOf: [
                    ("readinessProbe", probe(KubernetesManifests.readyPath, period: 5)),
                    ("livenessProbe", probe(KubernetesManifests.livePath, period: 10)),
                ], at: index)
            container = .map(members)
        }
        var annotations: [(String, ManifestNode)] = [
            ("prometheus.kserve.io/port", .string(String(request.ports.metrics))),
            ("prometheus.kserve.io/path", .string(KubernetesManifests.metricsPath)),
        ]
        if request.kserveMode == .raw {
            // No queue-proxy in raw mode to aggregate metrics: let Prometheus scrape the pod itself.
            annotations += [
                ("prometheus.io/scrape", "true"), ("prometheus.io/port", .string(String(request.ports.metrics))),
                ("prometheus.io/path", .string(KubernetesManifests.metricsPath)),
            ]
        }
        return [
            "apiVersion": "serving.kserve.io/v1alpha1",
            "kind": "ServingRuntime",
            "metadata": .map([
                ("name", .string(runtimeName(request))), ("namespace", request.namespace.map(ManifestNode.string)),
                ("labels", KubernetesManifests.labels(request)),
            ]),
            "spec": [
                "annotations": .map(annotations),
                // Chosen by name from the InferenceService. A runtime whose image
                // holds its own models must not be picked for other ONNX models;
                // one that loads them from storage may be.
                "supportedModelFormats": [
                    ["name": "onnx", "version": "1", "autoSelect": .bool(request.storageURI != nil), "priority": 1]
                ],
                "protocolVersions": ["v2", "grpc-v2"],
                "multiModel": false,
                "containers": [container],
                "volumes": KubernetesManifests.volumes(request),
            ],
        ]
    }

    static func probe(_ path: String, period: Int) -> ManifestNode {
        ["httpGet": ["path": .string(path), "port": .integer(httpPort)], "periodSeconds": .integer(period), "failureThreshold": 3]
    }

    static func inferenceService(_ request: DeploymentRequest, grpc: Bool) -> ManifestNode {
        let range = request.replicaRange
        var predictor: [(String, ManifestNode?)] = [
            ("minReplicas", .integer(range.lowerBound)),
            ("maxReplicas", .integer(range.upperBound)),
        ]
        if request.kserveMode == .serverless {
            // Knative scales on requests in flight per pod, Ferry's pending requests.
            predictor += [("scaleMetric", "concurrency"), ("scaleTarget", .integer(request.pendingRequests))]
        }
        // The predictor is a pod spec too: placement goes here, not on the runtime.
        predictor += [
            ("runtimeClassName", request.placement.runtimeClass.map(ManifestNode.string)),
            ("nodeSelector", request.placement.nodeSelectorManifest),
            ("tolerations", request.placement.tolerationsManifest),
        ]
        predictor.append(
            (
                "model",
                .map([
                    ("modelFormat", ["name": "onnx", "version": "1"]),
                    ("runtime", .string(runtimeName(request))),
                    ("protocolVersion", grpc ? "grpc-v2" : "v2"),
                    ("storageUri", request.storageURI.map(ManifestNode.string)),
                    ("ports", grpc ? [["name": "h2c", "containerPort": .integer(grpcPort), "protocol": "TCP"]] : nil),
                    ("resources", KubernetesManifests.resources(request)),
                ])
            ))
        return [
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": .map([
                ("name", .string(request.name)), ("namespace", request.namespace.map(ManifestNode.string)),
                ("labels", KubernetesManifests.labels(request)),
                (
                    "annotations",
                    [
                        "serving.kserve.io/deploymentMode": request.kserveMode == .serverless ? "Serverless" : "RawDeployment",
                        "serving.kserve.io/enable-prometheus-scraping": "true",
                    ]
                ),
            ]),
            "spec": ["predictor": .map(predictor)],
        ]
    }
}
