import FerryCore
import FerryServing
import Testing

@Suite("Version labels (TF Serving's stable/canary) from config.pbtxt")
struct VersionLabelsTests {
    private func config(_ labels: String) throws(FerryError) -> ModelConfiguration {
        try ModelConfiguration(
            pbtxt: #"parameters { key: "version_labels" value: { string_value: "\#(labels)" } }"#, modelName: "m")
    }

    @Test("label=version pairs, spaces allowed")
    func parses() throws {
        #expect(try config("stable=1, canary = 2").versionLabels().versions == ["stable": 1, "canary": 2])
        #expect(try ModelConfiguration(pbtxt: "", modelName: "m").versionLabels().versions.isEmpty)
    }

    @Test(
        "a malformed parameter fails the model's load, naming what is wrong",
        arguments: [
            ("stable", "write label=version pairs"),
            ("stable=one", "versions are positive integers"),
            ("stable=0", "versions are positive integers"),
            ("1st=1", "does not start with a digit"),
            ("sta ble=1", "ASCII letters, digits"),
            ("stable=1,stable=2", "names label 'stable' twice"),
            ("stable=1,", "write label=version pairs"),
        ])
    func refuses(text: String, words: String) {
        #expect {
            _ = try config(text)
        } throws: { error in
            let error = error as? FerryError
            return error?.code == .failedPrecondition && error?.message.contains(words) == true
                && error?.message.contains("model 'm': parameter version_labels") == true
        }
    }
}
