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
        environment += request.environment.map { ($0.0, .string($0.1)) }
        let service: ManifestNode = .map([
            ("image", .string(request.image)),
            ("ports", [port(ports.http), port(ports.grpc), port(ports.metrics)]),
            ("environment", .map(environment)),
            ("user", "65532:65532"),
            ("read_only", true),
            ("tmpfs", ["/tmp"]),
            ("stop_signal", "SIGTERM"),
            // Longer than ferry's drain, so requests in flight finish before SIGKILL.
            ("stop_grace_period", .string("\(request.drainTimeout + 10)s")),
            (
                "healthcheck",
                [
                    "test": [
                        "CMD", "/usr/local/bin/ferry", "health", .string("http://127.0.0.1:\(ports.http)"), "--timeout", "4",
                    ],
                    "interval": "10s", "timeout": "5s", "retries": 3, "start_period": "120s",
                ]
            ),
            ("restart", "unless-stopped"),
            (
                "deploy",
                [
                    "mode": "replicated",
                    "replicas": .integer(request.replicaRange.lowerBound),
                    // Start the new task before stopping the old: no gap in capacity.
                    "update_config": [
                        "parallelism": 1, "order": "start-first", "failure_action": "rollback", "monitor": "30s", "delay": "5s",
                    ],
                    "rollback_config": ["parallelism": 1, "order": "start-first"],
                    "restart_policy": ["condition": "on-failure", "delay": "5s", "max_attempts": 5, "window": "120s"],
                    "resources": .map([
                        (
                            "limits",
                            .map([("cpus", request.cpuLimit.map { .string($0.composeCPUs) }), ("memory", .string(memory.composeBytes))])
                        ),
                        ("reservations", ["cpus": .string(request.cpu.composeCPUs), "memory": .string(memory.composeBytes)]),
                    ]),
                ]
            ),
        ])
        return ["name": .string(request.name), "services": .map([(request.name, service)])]
    }
}
