import FerryCore

/// The files `ferry deploy` writes for a request, after checking it.
public enum Deployment {
    /// - Parameter grpc: for KServe, route the v2 gRPC protocol (`grpc-v2`) instead of REST.
    public static func files(_ request: DeploymentRequest, grpc: Bool = false) throws(FerryError) -> [GeneratedFile] {
        try request.validate()
        return switch request.target {
        case .kubernetes: KubernetesManifests.files(request)
        case .kserve: KServeManifests.files(request, grpc: grpc)
        case .compose: ComposeManifest.files(request)
        }
    }

    /// Everything as one multi-document YAML stream (for `--output -` and
    /// `kubectl apply -f -`). Among Kubernetes objects, a file for another
    /// tool (the Prometheus adapter's rule) goes in as comments, which
    /// kubectl skips.
    public static func stream(_ files: [GeneratedFile]) -> String {
        let mixed = files.contains(where: \.isKubernetesObject)
        var documents: [String] = []
        for file in files {
            if mixed && !file.isKubernetesObject {
                let body = file.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { "#   " + $0 }
                documents.append(
                    (["# \(file.name): not a Kubernetes object; add it to the Prometheus adapter's rules"] + body).joined(separator: "\n")
                        + "\n")
            } else {
                documents.append(file.text)
            }
        }
        return documents.joined(separator: "---\n")
    }
}
