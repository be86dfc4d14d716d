import AsyncHTTPClient
import FerryCore
import Foundation
import NIOCore
import NIOHTTP1

/// One HTTP exchange with a server under test.
struct HTTPCall {
    var status: Int
    var headers: HTTPHeaders
    var body: Data

    var json: JSONValue { get throws { try JSONParser.parse(body) } }
    var text: String { String(decoding: body, as: UTF8.self) }

    static func send(
        _ method: HTTPMethod, _ url: String, body: String? = nil, headers: [(String, String)] = []
    ) async throws -> HTTPCall {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return HTTPCall(status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
    }
}
