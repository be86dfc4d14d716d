import FerryCore
import Foundation
import Testing

@Suite("ferry deploy on the command line")
struct DeployCommandTests {
    static let image = "registry.example.com/team/digits:v1"

    @Test("--output DIR writes one file per object and names them")
    func outputDirectory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-deploy-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try FerryProcess.run(["deploy", Self.image, "--target", "kubernetes", "--output", directory.path])
        #expect(result.status == 0, "\(result.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(files == ["deployment.yaml", "hpa.yaml", "pdb.yaml", "service.yaml"])
        #expect(result.stdout.split(separator: "\n").count == 4)
        let deployment = try YAMLParser.parse(String(contentsOf: directory.appendingPathComponent("deployment.yaml"), encoding: .utf8))
        #expect(deployment["metadata"]?["name"] == .string("digits"), "the name comes from the image's repository")
    }

    @Test("ferry.yaml next to the repository gives the image, target and replicas; the models size the memory")
    func projectDefaults() throws {
        let project = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-deploy-project-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: project) }
        try FileManager.default.createDirectory(at: project, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: FerryProcess.repositoryRoot.appendingPathComponent("examples/models"), to: project.appendingPathComponent("models"))
        try Data(
            """
            image:
              name: registry.example.com/team/classifier:v2
            deploy:
              target: compose
              replicas: 1
              cpu: 500m
            """.utf8
        ).write(to: project.appendingPathComponent("ferry.yaml"))
        let result = try FerryProcess.run(["deploy", "--repository", project.appendingPathComponent("models").path])
        #expect(result.status == 0, "\(result.stderr)")
        let compose = try YAMLParser.parse(result.stdout)
        let service = compose["services"]?["classifier"]
        #expect(service?["image"] == .string("registry.example.com/team/classifier:v2"))
        #expect(service?["deploy"]?["replicas"] == .number("1"))
        #expect(service?["deploy"]?["resources"]?["reservations"]?["cpus"] == .string("0.5"))
        #expect(service?["deploy"]?["resources"]?["reservations"]?["memory"] == .string("512m"), "the digits model is small: the floor")

        // Command-line options win over ferry.yaml.
        let overridden = try FerryProcess.run([
            "deploy", "--repository", project.appendingPathComponent("models").path, "--target", "kubernetes", "--replicas", "3",
        ])
        #expect(overridden.status == 0, "\(overridden.stderr)")
        #expect(overridden.stdout.contains("kind: Deployment") && overridden.stdout.contains("replicas: 3"))
    }

    @Test("missing or bad values fail with one clear line")
    func errors() throws {
        let noTarget = try FerryProcess.run(["deploy", Self.image])
        #expect(noTarget.status == 1)
        #expect(noTarget.stderr == "ferry: say what to deploy to: --target kubernetes, kserve or compose\n", "\(noTarget.stderr)")
        let noImage = try FerryProcess.run(["deploy", "--target", "kubernetes"])
        #expect(noImage.stderr.contains("name the image to deploy"), "\(noImage.stderr)")
        let negative = try FerryProcess.run(["deploy", Self.image, "--target", "kserve", "--replicas=-2"])
        #expect(negative.status == 1)
        #expect(negative.stderr == "ferry: --replicas must be 0 or more, not -2\n", "\(negative.stderr)")
        let memory = try FerryProcess.run([
            "deploy", Self.image, "--target", "compose", "--memory", "16Mi", "--repository", "examples/models",
        ])
        #expect(memory.status == 1)
        #expect(memory.stderr.contains("--memory 16Mi is below what the models need"), "\(memory.stderr)")
    }
}
