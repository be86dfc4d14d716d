import FerryCore

/// A Compose file (the Compose specification) that runs with
/// `docker compose up` and, through its `deploy:` section, with
/// `docker stack deploy` on Swarm: replicas, start-first updates with
/// rollback, a restart policy, resources, and a health check the image runs
/// on itself (`ferry health`: the image has no shell or curl).
enum ComposeManifest {
    static func files(_ request: DeploymentRequest) -> [GeneratedFile] {
        [GeneratedFile(name: "compose.yaml", document: compose(request), isKubernetesObject: false)]
    }

    static func compose(_ request: DeploymentRequest) -> ManifestNode {
        let memory = request.effectiveMemory
        let ports = request.ports
        func port(_ number: Int) -> ManifestNode {
            // Long syntax; Swarm's routing mesh (mode ingress) spreads a published port over the replicas.
            ["target": .integer(number), "published": .string(String(number)), "protocol": "tcp", "mode": "ingress"]
        }
        var environment: [(String, ManifestNode)] = [("FERRY_DRAIN_TIMEOUT", .string(String(request.drainTimeout)))]
        environment += KubernetesManifests.securityEnvironment(request, directory: ("/run/secrets", "/run/secrets")).map { ($0.0, .string($0.1)) }
        environment += request.environment.map { ($0.0, .string($0.1)) }
        // Compose secrets are files beside compose.yaml (Swarm stores them at deploy): SECRET/tls.crt,
        // SECRET/tls.key and SECRET/api-keys, mounted in /run/secrets.
        var secrets: [(String, ManifestNode)] = []
        var serviceSecrets: [ManifestNode] = []
        // Swarm mounts secrets owned by root unless told: ferry runs as 65532 and must read them.
        func serviceSecret(_ source: String, target: String) -> ManifestNode {
            ["source": .string(source), "target": .string(target), "uid": "65532", "gid": "65532", "mode": 0o400]
        }
        if let secret = request.tlsSecret {
            for file in ["tls.crt", "tls.key"] {
                let name = "\(secret)-\(file.replacing(".", with: "-"))"
                secrets.append((name, ["file": .string("./\(secret)/\(file)")]))
                serviceSecrets.append(serviceSecret(name, target: file))
            }
        }
        if let secret = request.apiKeySecret {
            secrets.append(("\(secret)-api-keys", ["file": .string("./\(secret)/api-keys")]))
            serviceSecrets.append(serviceSecret("\(secret)-api-keys", target: "api-keys"))
        }
        if let secret = request.registrySecret {
            secrets.append(("\(secret)-config-json", ["file": .string("./\(secret)/config.json")]))
            serviceSecrets.append(serviceSecret("\(secret)-config-json", target: DeploymentRequest.registryConfigDirectory + "/config.json"))
        }
        if let secret = request.jobStoreSecret {
            secrets.append(("\(secret)-password", ["file": .string("./\(secret)/password")]))
            serviceSecrets.append(serviceSecret("\(secret)-password", target: "job-store-password"))
            environment += [
                ("FERRY_JOB_STORE", .string(DeploymentRequest.composeJobStoreURL)),
                ("FERRY_JOB_STORE_PASSWORD_FILE", "/run/secrets/job-store-password"),
            ]
        }
        // The container checks itself over loopback: its own certificate need not verify there.
        let healthURL = request.tlsSecret == nil ? "http://127.0.0.1:\(ports.http)" : "https://127.0.0.1:\(ports.http)"
        var healthTest: [ManifestNode] = ["CMD", "/usr/local/bin/ferry", "health", .string(healthURL), "--timeout", "4"]
        if request.tlsSecret != nil { healthTest.append("--insecure") }
        let entrypoint: ManifestNode? = request.artifactCommand(ports: ports).map { .list($0.map(ManifestNode.string)) }
        let cacheVolumes: ManifestNode? = request.modelArtifacts.isEmpty ? nil : .list([.string("model-cache:\(DeploymentRequest.modelCacheDirectory)")])
        let service: ManifestNode = .map([
            ("image", .string(request.image)),
            // The image's entrypoint serves /models; with artifacts the whole command line is replaced.
            ("entrypoint", entrypoint),
            ("ports", [port(ports.http), port(ports.grpc), port(ports.metrics)]),
            ("environment", .map(environment)),
            ("secrets", serviceSecrets.isEmpty ? nil : .list(serviceSecrets)),
            // Docker's name for the NVIDIA runtime where it is not the default one.
            ("runtime", request.placement.runtimeClass.map(ManifestNode.string)),
            ("user", "65532:65532"),
            ("read_only", true),
            ("tmpfs", ["/tmp"]),
            // A named volume: pulled artifacts stay across restarts and updates.
            ("volumes", cacheVolumes),
            ("stop_signal", "SIGTERM"),
            // Longer than ferry's drain, so requests in flight finish before SIGKILL.
            ("stop_grace_period", .string("\(request.drainTimeout + 10)s")),
            (
                "healthcheck",
                [
                    "test": .list(healthTest),
                    "interval": "10s", "timeout": "5s", "retries": 3, "start_period": "120s",
                ]
            ),
            ("restart", "unless-stopped"),
            // Compose waits for the database; Swarm ignores this, and ferry waits for it at start instead.
            (
                "depends_on",
                request.jobStoreSecret.map { _ in
                    ManifestNode.map([(DeploymentRequest.composeJobStoreService, ["condition": "service_healthy"] as ManifestNode)])
                }
            ),
            (
                "deploy",
                .map([
                    ("mode", "replicated"),
                    ("replicas", .integer(request.replicaRange.lowerBound)),
                    // Start the new task before stopping the old: no gap in capacity.
                    (
                        "update_config",
                        ["parallelism": 1, "order": "start-first", "failure_action": "rollback", "monitor": "30s", "delay": "5s"]
                    ),
                    ("rollback_config", ["parallelism": 1, "order": "start-first"]),
                    ("restart_policy", ["condition": "on-failure", "delay": "5s", "max_attempts": 5, "window": "120s"]),
                    (
                        "resources",
                        .map([
                            (
                                "limits",
                                .map([("cpus", request.cpuLimit.map { .string($0.composeCPUs) }), ("memory", .string(memory.composeBytes))])
                            ),
                            (
                                "reservations",
                                .map([
                                    ("cpus", .string(request.cpu.composeCPUs)), ("memory", .string(memory.composeBytes)),
                                    // Compose's form of a GPU request, as the NVIDIA container toolkit reads it.
                                    (
                                        "devices",
                                        request.placement.gpus.map {
                                            [["driver": "nvidia", "count": .integer($0), "capabilities": ["gpu"]]] as ManifestNode
                                        }
                                    ),
                                ])
                            ),
                        ])
                    ),
                    // Swarm's node labels stand for Kubernetes' node selector.
                    (
                        "placement",
                        request.placement.nodeSelector.isEmpty
                            ? nil
                            : ["constraints": .list(request.placement.nodeSelector.map { .string("node.labels.\($0.key) == \($0.value)") })]
                    ),
                ])
            ),
        ])
        var services: [(String, ManifestNode)] = [(request.name, service)]
        var volumes: [(String, ManifestNode)] = request.modelArtifacts.isEmpty ? [] : [("model-cache", .map([]))]
        if let secret = request.jobStoreSecret {
            services.append((DeploymentRequest.composeJobStoreService, jobStore(secret: secret)))
            volumes.append(("job-store", .map([])))
        }
        return .map([
            ("name", .string(request.name)), ("services", .map(services)),
            ("secrets", secrets.isEmpty ? nil : .map(secrets)),
            ("volumes", volumes.isEmpty ? nil : .map(volumes)),
        ])
    }

    /// PostgreSQL for the replicas' shared job store, its data in a named
    /// volume; one replica (PostgreSQL does not scale by replicas).
    static func jobStore(secret: String) -> ManifestNode {
        [
            "image": "postgres:17",
            "environment": [
                "POSTGRES_USER": "ferry", "POSTGRES_DB": "ferry", "POSTGRES_PASSWORD_FILE": "/run/secrets/job-store-password",
            ],
            "secrets": [["source": .string("\(secret)-password"), "target": "job-store-password", "mode": 0o444]],
            "volumes": ["job-store:/var/lib/postgresql/data"],
            "healthcheck": [
                "test": ["CMD", "pg_isready", "-U", "ferry", "-d", "ferry"], "interval": "5s", "timeout": "5s", "retries": 10,
                "start_period": "30s",
            ],
            "restart": "unless-stopped",
            "deploy": ["mode": "replicated", "replicas": 1, "restart_policy": ["condition": "any", "delay": "5s"]],
        ]
    }
}
