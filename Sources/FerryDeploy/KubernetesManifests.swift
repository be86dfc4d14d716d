import FerryCore

/// Kubernetes objects for `ferry serve` in its image: a Deployment, a
/// Service, a HorizontalPodAutoscaler when the replica count may change, a
/// PodDisruptionBudget, and a ServiceMonitor for the Prometheus Operator.
enum KubernetesManifests {
    static let readyPath = "/v2/health/ready"
    static let livePath = "/v2/health/live"
    static let metricsPath = "/metrics"
    static let pendingMetric = "ferry_inference_pending_request_count"

    static func files(_ request: DeploymentRequest) -> [GeneratedFile] {
        var files = [
            GeneratedFile(name: "deployment.yaml", document: deployment(request)),
            GeneratedFile(name: "service.yaml", document: service(request)),
        ]
        let range = request.replicaRange
        if range.upperBound > range.lowerBound {
            files.append(
                GeneratedFile(
                    name: "hpa.yaml", document: autoscaler(request),
                    comment: request.scaleOn == .queue ? PrometheusAdapter.comment : nil))
        }
        files.append(GeneratedFile(name: "pdb.yaml", document: disruptionBudget(request)))
        if request.prometheusOperator {
            files.append(GeneratedFile(name: "servicemonitor.yaml", document: serviceMonitor(request)))
        }
        if request.scaleOn == .queue && range.upperBound > range.lowerBound {
            files.append(GeneratedFile(name: "prometheus-adapter-rules.yaml", document: PrometheusAdapter.rules, isKubernetesObject: false))
        }
        return files
    }

    static func selector(_ request: DeploymentRequest) -> ManifestNode {
        ["app.kubernetes.io/name": .string(request.name), "app.kubernetes.io/component": "inference-server"]
    }

    static func labels(_ request: DeploymentRequest) -> ManifestNode {
        [
            "app.kubernetes.io/name": .string(request.name), "app.kubernetes.io/component": "inference-server",
            "app.kubernetes.io/managed-by": "ferry",
        ]
    }

    static func metadata(_ request: DeploymentRequest, annotations: ManifestNode? = nil) -> ManifestNode {
        .map([
            ("name", .string(request.name)), ("namespace", request.namespace.map(ManifestNode.string)), ("labels", labels(request)),
            ("annotations", annotations),
        ])
    }

    static func deployment(_ request: DeploymentRequest) -> ManifestNode {
        let range = request.replicaRange
        return [
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": metadata(request),
            "spec": .map([
                // With an autoscaler the HPA owns the count; a replicas field would reset it on every apply.
                ("replicas", range.lowerBound == range.upperBound ? .integer(range.lowerBound) : nil),
                ("revisionHistoryLimit", 5),
                ("selector", ["matchLabels": selector(request)]),
                // Never fewer ready pods than asked for during a rollout.
                ("strategy", ["type": "RollingUpdate", "rollingUpdate": ["maxSurge": 1, "maxUnavailable": 0]]),
                (
                    "template",
                    [
                        "metadata": [
                            "labels": labels(request),
                            "annotations": [
                                "prometheus.io/scrape": "true", "prometheus.io/port": .string(String(request.ports.metrics)),
                                "prometheus.io/path": .string(metricsPath),
                            ],
                        ],
                        "spec": podSpec(request),
                    ]
                ),
            ]),
        ]
    }

    static func podSpec(_ request: DeploymentRequest) -> ManifestNode {
        .map([
            ("automountServiceAccountToken", false),
            ("terminationGracePeriodSeconds", .integer(request.terminationGracePeriod)),
            ("securityContext", podSecurityContext),
            (
                "topologySpreadConstraints",
                [
                    [
                        "maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": ["matchLabels": selector(request)],
                    ]
                ]
            ),
            ("runtimeClassName", request.placement.runtimeClass.map(ManifestNode.string)),
            ("nodeSelector", request.placement.nodeSelectorManifest),
            ("tolerations", request.placement.tolerationsManifest),
            (
                "containers",
                [
                    container(
                        request, name: "ferry", ports: request.ports, probes: true,
                        arguments: request.artifactCommand(ports: request.ports).map { .list($0.dropFirst().map(ManifestNode.string)) },
                        command: request.artifactCommand(ports: request.ports).map { .list([.string($0[0])]) })
                ]
            ),
            ("volumes", volumes(request)),
        ])
    }

    /// Where the Secrets are mounted: whole directories, not subPaths, so a
    /// renewed certificate or an edited keys file reaches the running pod
    /// (ferry reloads both).
    static let tlsDirectory = "/etc/ferry/tls"
    static let apiKeysDirectory = "/etc/ferry/api-keys"

    static func volumes(_ request: DeploymentRequest) -> ManifestNode {
        var volumes: [ManifestNode] = [temporaryVolume]
        if let secret = request.tlsSecret { volumes.append(["name": "tls", "secret": ["secretName": .string(secret)]]) }
        if let secret = request.apiKeySecret {
            volumes.append(["name": "api-keys", "secret": ["secretName": .string(secret), "items": [["key": "api-keys", "path": "api-keys"]]]])
        }
        if !request.modelArtifacts.isEmpty {
            // Survives container restarts (no second pull), not the pod's rescheduling.
            volumes.append(["name": "model-cache", "emptyDir": [:]])
        }
        if let secret = request.registrySecret {
            volumes.append(
                ["name": "registry", "secret": ["secretName": .string(secret), "items": [["key": ".dockerconfigjson", "path": "config.json"]]]])
        }
        return .list(volumes)
    }

    static func volumeMounts(_ request: DeploymentRequest) -> ManifestNode {
        var mounts: [ManifestNode] = [["name": "tmp", "mountPath": "/tmp"]]
        if request.tlsSecret != nil { mounts.append(["name": "tls", "mountPath": .string(tlsDirectory), "readOnly": true]) }
        if request.apiKeySecret != nil { mounts.append(["name": "api-keys", "mountPath": .string(apiKeysDirectory), "readOnly": true]) }
        if !request.modelArtifacts.isEmpty {
            mounts.append(["name": "model-cache", "mountPath": .string(DeploymentRequest.modelCacheDirectory)])
        }
        if request.registrySecret != nil {
            mounts.append(["name": "registry", "mountPath": .string(DeploymentRequest.registryConfigDirectory), "readOnly": true])
        }
        return .list(mounts)
    }

    /// The serve options the Secrets stand for, as FERRY_* variables.
    static func securityEnvironment(_ request: DeploymentRequest, directory: (tls: String, apiKeys: String)) -> [(String, String)] {
        var environment: [(String, String)] = []
        if request.tlsSecret != nil {
            environment += [("FERRY_TLS_CERT", "\(directory.tls)/tls.crt"), ("FERRY_TLS_KEY", "\(directory.tls)/tls.key")]
        }
        if request.apiKeySecret != nil { environment.append(("FERRY_API_KEYS", "\(directory.apiKeys)/api-keys")) }
        if request.registrySecret != nil { environment.append(("DOCKER_CONFIG", DeploymentRequest.registryConfigDirectory)) }
        return environment
    }

    /// The image's user (65532), as `ferry build` sets it; the root filesystem stays read-only.
    static let podSecurityContext: ManifestNode = [
        "runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532, "fsGroup": 65532, "seccompProfile": ["type": "RuntimeDefault"],
    ]

    static let containerSecurityContext: ManifestNode = [
        "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": ["drop": ["ALL"]],
    ]

    /// `/tmp` is where the image keeps its job store; the root is read-only.
    static let temporaryVolume: ManifestNode = ["name": "tmp", "emptyDir": ["sizeLimit": "1Gi"]]

    static func environment(_ request: DeploymentRequest) -> ManifestNode {
        let security = securityEnvironment(request, directory: (tlsDirectory, apiKeysDirectory))
        var variables: [ManifestNode] = ([("FERRY_DRAIN_TIMEOUT", String(request.drainTimeout))] + security + request.environment).map {
            name, value in ["name": .string(name), "value": .string(value)]
        }
        if let secret = request.jobStoreSecret {
            // The replicas share the store; each names itself by its pod in it.
            for (name, key) in [("FERRY_JOB_STORE", "url"), ("FERRY_JOB_STORE_PASSWORD", "password")] {
                variables.append(["name": .string(name), "valueFrom": ["secretKeyRef": ["name": .string(secret), "key": .string(key)]]])
            }
            variables.append(["name": "FERRY_REPLICA_NAME", "valueFrom": ["fieldRef": ["fieldPath": "metadata.name"]]])
        }
        return .list(variables)
    }

    /// GPUs are an extended resource: a limit alone, which Kubernetes copies as the request.
    static func resources(_ request: DeploymentRequest) -> ManifestNode {
        let memory = ManifestNode.string(request.effectiveMemory.text)
        return [
            "requests": ["cpu": .string(request.cpu.text), "memory": memory],
            "limits": .map([
                ("cpu", request.cpuLimit.map { .string($0.text) }), ("memory", memory),
                (Placement.gpuResource, request.placement.gpus.map { .string(String($0)) }),
            ]),
        ]
    }

    /// The server container; `probes` adds the startup, readiness and
    /// liveness probes and the pre-stop pause (KServe sets its own).
    static func container(
        _ request: DeploymentRequest, name: String, ports: ServerPorts, probes: Bool, arguments: ManifestNode? = nil,
        command: ManifestNode? = nil
    ) -> ManifestNode {
        var members: [(String, ManifestNode?)] = [
            ("name", .string(name)),
            ("image", .string(request.image)),
            ("imagePullPolicy", "IfNotPresent"),
            ("command", command),
            ("args", arguments),
            ("env", environment(request)),
        ]
        if probes {
            members.append(
                (
                    "ports",
                    [
                        ["name": "http", "containerPort": .integer(ports.http), "protocol": "TCP"],
                        ["name": "grpc", "containerPort": .integer(ports.grpc), "protocol": "TCP"],
                        ["name": "metrics", "containerPort": .integer(ports.metrics), "protocol": "TCP"],
                    ]
                ))
        }
        members.append(("resources", resources(request)))
        if probes {
            // Loading a large model can take minutes: the startup probe holds
            // the liveness probe off until the server is ready once.
            members += [
                ("startupProbe", probe(readyPath, period: 2, failures: 150, timeout: 2, https: request.tlsSecret != nil)),
                ("readinessProbe", probe(readyPath, period: 5, failures: 2, timeout: 2, https: request.tlsSecret != nil)),
                ("livenessProbe", probe(livePath, period: 10, failures: 3, timeout: 5, https: request.tlsSecret != nil)),
                // Endpoints are removed asynchronously: keep serving while they are,
                // then SIGTERM starts ferry's drain.
                ("lifecycle", ["preStop": ["sleep": ["seconds": .integer(request.preStopDelay)]]]),
            ]
        }
        members += [
            ("securityContext", containerSecurityContext),
            ("volumeMounts", volumeMounts(request)),
        ]
        return .map(members)
    }

    /// Health stays open to probes with authentication on; over TLS the
    /// kubelet asks in HTTPS (it does not verify the certificate).
    static func probe(_ path: String, period: Int, failures: Int, timeout: Int, https: Bool) -> ManifestNode {
        [
            "httpGet": .map([("path", .string(path)), ("port", "http"), ("scheme", https ? "HTTPS" : nil)]),
            "periodSeconds": .integer(period), "timeoutSeconds": .integer(timeout), "failureThreshold": .integer(failures),
        ]
    }

    static func service(_ request: DeploymentRequest) -> ManifestNode {
        func port(_ name: String, _ number: Int, _ appProtocol: String) -> ManifestNode {
            [
                "name": .string(name), "port": .integer(number), "targetPort": .string(name), "protocol": "TCP",
                "appProtocol": .string(appProtocol),
            ]
        }
        return [
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(request),
            "spec": [
                "type": "ClusterIP",
                "selector": selector(request),
                "ports": [
                    port("http", request.ports.http, request.tlsSecret == nil ? "http" : "https"), port("grpc", request.ports.grpc, "grpc"),
                    port("metrics", request.ports.metrics, "http"),
                ],
            ],
        ]
    }

    static func autoscaler(_ request: DeploymentRequest) -> ManifestNode {
        let metric: ManifestNode =
            switch request.scaleOn {
            case .cpu:
                [
                    "type": "Resource",
                    "resource": [
                        "name": "cpu", "target": ["type": "Utilization", "averageUtilization": .integer(request.cpuUtilization)],
                    ],
                ]
            case .queue:
                [
                    "type": "Pods",
                    "pods": [
                        "metric": ["name": .string(pendingMetric)],
                        "target": ["type": "AverageValue", "averageValue": .string(String(request.pendingRequests))],
                    ],
                ]
            }
        return [
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": metadata(request),
            "spec": [
                "scaleTargetRef": ["apiVersion": "apps/v1", "kind": "Deployment", "name": .string(request.name)],
                "minReplicas": .integer(request.replicaRange.lowerBound),
                "maxReplicas": .integer(request.replicaRange.upperBound),
                "metrics": [metric],
                // Up at once when load comes; down slowly, since loading models again is slow.
                "behavior": [
                    "scaleUp": [
                        "stabilizationWindowSeconds": 0, "policies": [["type": "Percent", "value": 100, "periodSeconds": 30]],
                    ],
                    "scaleDown": [
                        "stabilizationWindowSeconds": 300, "policies": [["type": "Percent", "value": 50, "periodSeconds": 60]],
                    ],
                ],
            ],
        ]
    }

    static func disruptionBudget(_ request: DeploymentRequest) -> ManifestNode {
        [
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": metadata(request),
            // maxUnavailable rather than minAvailable: with one replica a drain still proceeds.
            "spec": ["maxUnavailable": 1, "selector": ["matchLabels": selector(request)]],
        ]
    }

    static func serviceMonitor(_ request: DeploymentRequest) -> ManifestNode {
        [
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": metadata(request),
            "spec": [
                "selector": ["matchLabels": selector(request)],
                "endpoints": [
                    .map([
                        ("port", "metrics"), ("path", .string(metricsPath)), ("interval", "15s"),
                        // With authentication on, /metrics needs a key with the metrics scope.
                        (
                            "authorization",
                            request.apiKeySecret.map { secret in
                                ["type": "Bearer", "credentials": ["name": .string(secret), "key": "metrics-token"]]
                            }
                        ),
                    ])
                ],
            ],
        ]
    }
}

/// The Prometheus adapter rule that turns Ferry's pending-request gauge into
/// the custom metric `--scale-on queue` scales on.
enum PrometheusAdapter {
    static let comment = """
        Scales on ferry_inference_pending_request_count (requests queued or running, per pod),
        served to the HPA by the Prometheus adapter as a custom metric: add the rule in
        prometheus-adapter-rules.yaml to the adapter's configuration (Helm: rules.custom).
        """

    static let rules: ManifestNode = [
        "rules": [
            [
                "seriesQuery": .string(#"ferry_inference_pending_request_count{namespace!="",pod!=""}"#),
                "resources": ["overrides": ["namespace": ["resource": "namespace"], "pod": ["resource": "pod"]]],
                "name": ["matches": "^ferry_inference_pending_request_count$", "as": "ferry_inference_pending_request_count"],
                "metricsQuery": "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
            ]
        ]
    ]
}

/// One file `ferry deploy` writes: a manifest (one document) and a header comment.
public struct GeneratedFile: Sendable {
    public var name: String
    public var document: ManifestNode
    public var comment: String?
    /// False for configuration of other tools (the Prometheus adapter's rules).
    public var isKubernetesObject = true

    public var text: String { YAMLWriter.documents([document], comments: [comment]) }
}
