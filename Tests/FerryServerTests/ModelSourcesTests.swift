import FerryCore
import FerryServer
import Foundation
import Testing

@Suite("model lists in YAML")
struct ModelSourcesTests {
    @Test("a .yaml file lists sources under models: or as a bare list; relative paths are relative to it")
    func expands() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-sources-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let listed = directory.appendingPathComponent("models.yaml")
        try Data("models:\n  - oci://127.0.0.1:5000/team/mlp:v1\n  - local\n  - /srv/models\n".utf8).write(to: listed)
        #expect(
            try ModelSources.expand(listed.path) == [
                "oci://127.0.0.1:5000/team/mlp:v1", directory.standardizedFileURL.path + "/local", "/srv/models",
            ])
        let bare = directory.appendingPathComponent("bare.yml")
        try Data("- oci://127.0.0.1:5000/team/mlp:v1\n".utf8).write(to: bare)
        #expect(try ModelSources.expand(bare.path) == ["oci://127.0.0.1:5000/team/mlp:v1"])
        #expect(try ModelSources.expand("models") == ["models"])
        for text in ["models: []\n", "models:\n  - 3\n", "other: x\n"] {
            try Data(text.utf8).write(to: listed)
            #expect(throws: FerryError.self) { try ModelSources.expand(listed.path) }
        }
        #expect(throws: FerryError.self) { try ModelSources.expand(directory.appendingPathComponent("absent.yaml").path) }
    }
}
