import AsyncHTTPClient
import FerryCore
import NIOCore
import NIOHTTP1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A client of the OCI distribution API: pushes what an `OCILayout` holds
/// (blobs first, skipping those the registry has, then the manifest).
public final class RegistryClient: Sendable {
    public struct Credentials: Sendable, Hashable {
        public var username: String
        public var password: String

        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

    /// What a push did: blobs uploaded and their bytes, blobs already there.
    public struct PushReport: Sendable {
        public var uploaded: [Digest] = []
        public var uploadedBytes = 0
        public var skipped: [Digest] = []
        public var manifestDigest: Digest?
    }

    let registry: String
    let scheme: String
    let credentials: Credentials?
    let http: HTTPClient
    /// Blobs larger than this go up in PATCH chunks of this size.
    let chunkSize: Int

    /// - Parameter insecure: plain HTTP. Loopback registries always use it.
    public init(registry: String, insecure: Bool = false, credentials: Credentials? = nil, chunkSize: Int = 16 << 20) {
        self.registry = registry
        let host = registry.split(separator: ":").first.map(String.init) ?? registry
        scheme = insecure || ["localhost", "127.0.0.1", "[::1]"].contains(host) ? "http" : "https"
        self.credentials = credentials
        self.chunkSize = chunkSize
        http = HTTPClient(eventLoopGroupProvider: .singleton)
    }

    public func shutdown() async { try? await http.shutdown() }

    // MARK: Push

    public func push(
        _ manifest: Descriptor, from layout: OCILayout, to reference: ImageReference, progress: @Sendable (String) -> Void = { _ in }
    ) async throws(FerryError) -> PushReport {
        let document: ImageManifest
        do {
            document = try JSONDecoder().decode(ImageManifest.self, from: try layout.blob(manifest.digest))
        } catch let error as FerryError {
            throw error
        } catch {
            throw FerryError(.invalidArgument, "manifest \(manifest.digest) is not an OCI image manifest: \(error)")
        }
        _ = try await retrying("checking \(registry)", progress: progress) { () async throws(FerryError) in
            try await send(.GET, "/v2/", expecting: [200])
        }
        var report = PushReport()
        for blob in [document.config] + document.layers {
            let present = try await retrying("checking \(blob.digest)", progress: progress) { () async throws(FerryError) in
                try await hasBlob(blob.digest, in: reference.repository)
            }
            if present {
                report.skipped.append(blob.digest)
                progress("\(blob.digest): already in \(registry)/\(reference.repository)")
                continue
            }
            try await retrying("uploading \(blob.digest)", progress: progress) { () async throws(FerryError) in
                try await upload(blob, from: layout, to: reference.repository, progress: progress)
            }
            report.uploaded.append(blob.digest)
            report.uploadedBytes += blob.size
        }
        let manifestBody = try layout.blob(manifest.digest)
        let response = try await retrying("putting the manifest", progress: progress) { () async throws(FerryError) in
            try await send(
                .PUT, "/v2/\(reference.repository)/manifests/\(reference.reference)",
                headers: ["Content-Type": manifest.mediaType], body: manifestBody, expecting: [201])
        }
        let stated = response.headers.first(name: "Docker-Content-Digest")
        guard stated == nil || stated == manifest.digest.description else {
            throw FerryError(.internal, "the registry stored the manifest as \(stated ?? "") instead of \(manifest.digest)")
        }
        report.manifestDigest = manifest.digest
        return report
    }

    func hasBlob(_ digest: Digest, in repository: String) async throws(FerryError) -> Bool {
        try await send(.HEAD, "/v2/\(repository)/blobs/\(digest)", expecting: [200, 404]).status == .ok
    }

    /// POST to start, then one PUT with the whole blob, or PATCH chunks
    /// (following the newest `Location` each time) and an empty PUT.
    private func upload(_ blob: Descriptor, from layout: OCILayout, to repository: String, progress: @Sendable (String) -> Void)
        async throws(FerryError)
    {
        var location = try await startUpload(repository)
        let file = layout.blobURL(blob.digest)
        guard FileSystem.isRegularFile(file.path) else { throw FerryError(.notFound, "blob \(blob.digest) is missing from the layout") }
        let handle = try InputFile(file.path)
        var offset = 0
        if blob.size > chunkSize {
            while offset < blob.size {
                let chunk = try read(handle, upTo: chunkSize, of: blob)
                let response = try await send(
                    .PATCH, location,
                    headers: ["Content-Type": "application/octet-stream", "Content-Range": "\(offset)-\(offset + chunk.count - 1)"],
                    body: chunk, expecting: [202])
                offset += chunk.count
                location = try Self.location(response, after: "PATCH")
                progress("\(blob.digest): \(offset) of \(blob.size) bytes")
            }
            _ = try await send(.PUT, Self.appendingDigest(location, blob.digest), expecting: [201])
        } else {
            let body = try read(handle, upTo: blob.size, of: blob)
            _ = try await send(
                .PUT, Self.appendingDigest(location, blob.digest), headers: ["Content-Type": "application/octet-stream"], body: body,
                expecting: [201])
            progress("\(blob.digest): \(blob.size) bytes")
        }
    }

    private func startUpload(_ repository: String) async throws(FerryError) -> String {
        try Self.location(try await send(.POST, "/v2/\(repository)/blobs/uploads/", expecting: [202]), after: "POST")
    }

    private func read(_ handle: InputFile, upTo count: Int, of blob: Descriptor) throws(FerryError) -> Data {
        try handle.read(upTo: count)
    }

    static func location(_ response: Response, after method: String) throws(FerryError) -> String {
        guard let location = response.headers.first(name: "Location") else {
            throw FerryError(.internal, "the registry answered a blob upload \(method) without a Location")
        }
        return location
    }

    static func appendingDigest(_ location: String, _ digest: Digest) -> String {
        location + (location.contains("?") ? "&" : "?") + "digest=" + digest.description.replacing(":", with: "%3A")
    }

    // MARK: HTTP

    struct Response {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var body: Data
    }

    /// Runs `body` again after a failure that may pass (a 5xx, a reset
    /// connection), waiting 1, 2, then 4 s; other failures end at once.
    func retrying<T>(_ what: String, progress: @Sendable (String) -> Void, _ body: () async throws(FerryError) -> T)
        async throws(FerryError) -> T
    {
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch  where error.code == .unavailable && attempt < 4 {
                progress("\(what) failed (\(error.message)); retrying in \(1 << (attempt - 1)) s")
                try? await Task.sleep(for: .seconds(1 << (attempt - 1)))
                attempt += 1
            }
        }
    }

    /// One request to the registry; `path` is a path or an absolute URL (a
    /// `Location`). Requests that stand alone are retried; a blob upload's
    /// steps are retried as a whole by `push`.
    func send(
        _ method: HTTPMethod, _ path: String, headers: [String: String] = [:], body: Data? = nil, expecting: Set<Int>
    ) async throws(FerryError) -> Response {
        let url = path.hasPrefix("http://") || path.hasPrefix("https://") ? path : "\(scheme)://\(registry)\(path)"
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let credentials {
            let token = Data("\(credentials.username):\(credentials.password)".utf8).base64EncodedString()
            request.headers.add(name: "Authorization", value: "Basic \(token)")
        }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            request.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        }
        let response: HTTPClientResponse
        let data: Data
        do {
            response = try await http.execute(request, timeout: .seconds(300))
            data = Data((try await response.body.collect(upTo: 16 << 20)).readableBytesView)
        } catch {
            throw FerryError(.unavailable, "cannot reach the registry \(registry): \(error)")
        }
        guard expecting.contains(Int(response.status.code)) else {
            throw Self.failure(method: method, url: url, status: response.status, body: data)
        }
        return Response(status: response.status, headers: response.headers, body: data)
    }

    /// The registry's `{"errors":[{"code","message"}]}`, as one message.
    static func failure(method: HTTPMethod, url: String, status: HTTPResponseStatus, body: Data) -> FerryError {
        var details: [String] = []
        if case .array(let errors)? = (try? JSONParser.parse(body))?["errors"] {
            for error in errors {
                let code = error["code"]?.stringValue ?? "?"
                let message = error["message"]?.stringValue ?? ""
                details.append(message.isEmpty ? code : "\(code): \(message)")
            }
        }
        let detail = details.isEmpty ? "" : " (" + details.joined(separator: "; ") + ")"
        let code: FerryError.Code =
            switch status.code {
            case 401, 403: .failedPrecondition
            case 404: .notFound
            case 500...: .unavailable
            default: .invalidArgument
            }
        return FerryError(code, "the registry answered \(method.rawValue) \(url) with \(status.code) \(status.reasonPhrase)\(detail)")
    }
}
