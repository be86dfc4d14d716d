import FerryCore
import FerryDeploy
import Foundation
import Testing

/// Each target's manifests for fixed inputs, compared with the files in
/// Tests/Fixtures/deploy. `FERRY_UPDATE_GOLDEN=1 swift test --filter ManifestGoldenTests`
/// rewrites them; review the diff before committing.
@Suite("ferry deploy: golden manifests")
struct ManifestGoldenTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/deploy")
    static let image = "registry.example.com/team/digits:v1"

    static func request(_ target: DeploymentRequest.Target) throws -> DeploymentRequest {
        var request = DeploymentRequest(
            target: target, image: image, name: "digits", cpu: try ResourceQuantity(parsing: "2", what: "--cpu"))
        request.namespace = "ml"
        request.memory = try ResourceQuantity(parsing: "2Gi", what: "--memory")
        return request
    }

    static func expectGolden(_ files: [GeneratedFile], _ name: String) throws {
        let text = Deployment.stream(files)
        let url = fixtures.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["FERRY_UPDATE_GOLDEN"] == "1" {
            try Data(text.utf8).write(to: url)
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        #expect(text == expected, "\(name) differs from its golden file; run with FERRY_UPDATE_GOLDEN=1 and review the diff")
    }

    @Test("kubernetes: Deployment, Service, HPA on the queue metric, PDB, ServiceMonitor, the adapter's rule")
    func kubernetes() throws {
        var request = try Self.request(.kubernetes)
        request.minReplicas = 2
        request.maxReplicas = 8
        request.scaleOn = .queue
        request.prometheusOperator = true
        request.jobStoreSecret = "digits-jobs"
        let files = try Deployment.files(request)
        #expect(
            files.map(\.name) == [
                "deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml", "servicemonitor.yaml", "prometheus-adapter-rules.yaml",
            ])
        try Self.expectGolden(files, "kubernetes.yaml")
    }

    @Test("kubernetes with a fixed replica count: no autoscaler, replicas in the Deployment")
    func kubernetesFixed() throws {
        var request = try Self.request(.kubernetes)
        request.replicas = 3
        let files = try Deployment.files(request)
        #expect(files.map(\.name) == ["deployment.yaml", "service.yaml", "pdb.yaml"])
        #expect(files[0].document["spec"]?["replicas"] == .integer(3))
        try Self.expectGolden(files, "kubernetes-fixed.yaml")
    }

    @Test("kserve serverless: scale to zero, the image's own models")
    func kserve() throws {
        var request = try Self.request(.kserve)
        request.minReplicas = 0
        request.maxReplicas = 4
        try Self.expectGolden(try Deployment.files(request), "kserve.yaml")
    }

    @Test("kserve raw deployment, models from storage, gRPC")
    func kserveRaw() throws {
        var request = try Self.request(.kserve)
        request.kserveMode = .raw
        request.storageURI = "s3://models/digits"
        try Self.expectGolden(try Deployment.files(request, grpc: true), "kserve-raw-grpc.yaml")
    }

    @Test("compose: replicas, start-first updates, restart policy, health check, a PostgreSQL job store")
    func compose() throws {
        var request = try Self.request(.compose)
        request.replicas = 2
        request.jobStoreSecret = "digits-jobs"
        request.cpuLimit = try ResourceQuantity(parsing: "2", what: "--cpu-limit")
        try Self.expectGolden(try Deployment.files(request), "compose.yaml")
    }

    @Test("what the writer emits reads back as the same values")
    func roundTrip() throws {
        var request = try Self.request(.kubernetes)
        request.environment = [("FERRY_LOG_FORMAT", "json"), ("ODD", "yes: #1 \"quoted\"\n")]
        for file in try Deployment.files(request) {
            let parsed = try YAMLParser.parse(file.text, source: file.name)
            #expect(Self.json(file.document) == parsed, "\(file.name)")
        }
    }

    /// The JSON value a YAML reader should produce for a node.
    static func json(_ node: ManifestNode) -> JSONValue {
        switch node {
        case .string(let text): .string(text)
        case .integer(let value): .number(String(value))
        case .bool(let value): .bool(value)
        case .list(let items): .array(items.map(json))
        case .map(let members): .object(Dictionary(uniqueKeysWithValues: members.map { ($0.0, json($0.1)) }))
        }
    }
}

@Suite("ferry deploy: values that would make a broken deployment are refused")
struct DeploymentRefusalTests {
    static func refusal(_ change: (inout DeploymentRequest) throws -> Void, target: DeploymentRequest.Target = .kubernetes) throws -> String
    {
        var request = try ManifestGoldenTests.request(target)
        try change(&request)
        do {
            _ = try Deployment.files(request)
            return ""
        } catch {
            return error.message
        }
    }

    @Test("Secrets: names that are not Kubernetes names, and TLS inside a KServe pod")
    func secrets() throws {
        #expect(try Self.refusal { $0.tlsSecret = "Digits TLS" }.hasPrefix("--tls-secret 'Digits TLS' must be a Secret's name"))
        #expect(try Self.refusal { $0.apiKeySecret = "-keys" }.hasPrefix("--api-key-secret '-keys' must be a Secret's name"))
        #expect(try Self.refusal { $0.tlsSecret = "digits.tls-v2" } == "")
        #expect(try Self.refusal({ $0.tlsSecret = "digits-tls" }, target: .kserve).hasPrefix("--tls-secret does not fit KServe"))
        #expect(try Self.refusal({ $0.apiKeySecret = "digits-keys" }, target: .kserve) == "")
    }

    @Test("replica counts: negative, max below min, both forms at once, zero without scale to zero")
    func replicas() throws {
        #expect(try Self.refusal { $0.replicas = -1 } == "--replicas must be 0 or more, not -1")
        #expect(
            try Self.refusal {
                $0.minReplicas = 4; $0.maxReplicas = 2
            } == "--max-replicas 2 is below --min-replicas 4")
        #expect(
            try Self.refusal {
                $0.replicas = 2; $0.maxReplicas = 4
            }.hasPrefix("give either --replicas"))
        #expect(
            try Self.refusal {
                $0.minReplicas = 0; $0.maxReplicas = 4
            }.contains("use --target kserve (serverless)"))
        #expect(
            try Self.refusal(
                {
                    $0.kserveMode = .raw; $0.minReplicas = 0
                }, target: .kserve
            ).contains("needs KServe's serverless mode"))
        #expect(
            try Self.refusal(
                {
                    $0.minReplicas = 1; $0.maxReplicas = 3
                }, target: .compose
            ).hasPrefix("Compose and Swarm do not autoscale"))
        #expect(
            try Self.refusal {
                $0.maxReplicas = 0; $0.minReplicas = 0
            } == "--max-replicas must be at least 1")
    }

    @Test("a memory limit below the models' size")
    func memory() throws {
        let message = try Self.refusal {
            $0.modelBytes = 600 << 20
            $0.memory = try ResourceQuantity(parsing: "512Mi", what: "--memory")
        }
        #expect(
            message
                == "--memory 512Mi is below what the models need: their weights are 600 MiB and ferry itself about 64 MiB, so give at least 664Mi"
        )
        // Without --memory, the default fits the models.
        #expect(
            try Self.refusal {
                $0.memory = nil; $0.modelBytes = 600 << 20
            } == "")
    }

    @Test("names, quantities, ports and limits")
    func values() throws {
        #expect(try Self.refusal { $0.name = "Digits_Model" }.hasPrefix("--name 'Digits_Model' must be a DNS label"))
        #expect(try Self.refusal { $0.namespace = "ML" }.hasPrefix("--namespace 'ML' must be a DNS label"))
        #expect(throws: FerryError.self) { try ResourceQuantity(parsing: "two", what: "--cpu") }
        #expect(throws: FerryError.self) { try ResourceQuantity(parsing: "-1Gi", what: "--memory") }
        #expect(try ResourceQuantity(parsing: "1.5Gi", what: "--memory").bytes == 1_610_612_736)
        #expect(try ResourceQuantity(parsing: "500m", what: "--cpu").value == 0.5)
        #expect(
            try Self.refusal { $0.cpuLimit = try ResourceQuantity(parsing: "1", what: "--cpu-limit") }
                == "--cpu-limit 1 is below the --cpu request 2")
        #expect(try Self.refusal { $0.ports.grpc = 8000 }.hasPrefix("the HTTP, gRPC and metrics ports must be three different ports"))
        #expect(try Self.refusal { $0.storageURI = "s3://x" } == "--storage-uri is for --target kserve")
    }
}

@Suite("YAML writer quoting")
struct YAMLWriterTests {
    @Test("strings a reader could take for numbers, booleans or null are quoted; others are not")
    func quoting() {
        let node: ManifestNode = [
            "port": "8002", "yes": "yes", "empty": "", "path": "/metrics", "version": "1", "ip": "0.0.0.0", "cpu": "500m",
            "colon": "a: b", "plain": "registry.example.com/team/app:v1", "star": "*x", "flag": "--http-port", "dash": "- x",
            "marker": "---",
        ]
        #expect(
            YAMLWriter.document(node)
                == """
                port: "8002"
                "yes": "yes"
                empty: ""
                path: /metrics
                version: "1"
                ip: "0.0.0.0"
                cpu: 500m
                colon: "a: b"
                plain: registry.example.com/team/app:v1
                star: "*x"
                flag: --http-port
                dash: "- x"
                marker: "---"

                """)
    }

    @Test("sequences of mappings and nested sequences")
    func nesting() {
        let node: ManifestNode = ["list": [["a": 1, "b": ["x", "y"]], [], ["c": [:]]]]
        // "y" is a boolean to YAML 1.1 readers, so it is quoted.
        #expect(YAMLWriter.document(node) == "list:\n  - a: 1\n    b:\n      - x\n      - \"y\"\n  - []\n  - c: {}\n")
    }
}
