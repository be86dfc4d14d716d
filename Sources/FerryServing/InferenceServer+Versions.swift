import FerryCore

extension InferenceServer {
    /// The version a label names in the model's configuration (see
    /// `VersionLabels`). A label of a version that is not loaded routes to
    /// nothing, and inference says so.
    public func version(labeled label: String, model name: String) throws(FerryError) -> String {
        let labels = try servingVersion(name, nil).configuration.versionLabels()
        guard let version = labels.versions[label] else {
            let known = labels.versions.keys.sorted()
            let listed = known.isEmpty ? "it has none (config.pbtxt parameter \(VersionLabels.parameter))" : "it has \(known.joined(separator: ", "))"
            throw FerryError(.notFound, "model '\(name)' has no version label '\(label)': \(listed)")
        }
        return String(version)
    }

    /// Every version of a model the server knows of, or the one asked for:
    /// loaded versions with their state, and for a model that is not loaded
    /// (never, or it failed) the versions in its repository directory.
    public func versionStates(_ name: String, version: String? = nil) async throws(FerryError) -> [ModelVersionState] {
        let entries = await repositoryIndex().filter { $0.name == name }
        guard !entries.isEmpty else { throw FerryError(.notFound, "unknown model '\(name)'") }
        var states: [ModelVersionState] = []
        for entry in entries {
            // Never loaded (no state), or unloaded on request, is not a failure.
            let state = entry.state ?? .unavailable
            let failed = state == .unavailable && !entry.reason.isEmpty && entry.reason != ModelManager.unloadedReason
            let error = failed ? entry.reason : nil
            if let loaded = entry.version.flatMap({ Int64($0) }) {
                states.append(ModelVersionState(version: loaded, state: state, error: error))
            } else {
                let available = (try? manager.repository.entry(named: name).versionDirectories.keys.sorted()) ?? []
                states += available.map { ModelVersionState(version: $0, state: state, error: error) }
            }
        }
        guard let version, !version.isEmpty else { return states }
        guard let number = Int64(version) else {
            throw FerryError(.invalidArgument, "model version '\(version)' is not a number")
        }
        let chosen = states.filter { $0.version == number }
        guard !chosen.isEmpty else {
            let known = states.map { String($0.version) }.joined(separator: ", ")
            throw FerryError(.notFound, "model '\(name)' has no version \(version) (versions: \(known.isEmpty ? "none" : known))")
        }
        return chosen
    }
}
