import FerryCore
import Hummingbird

/// `GET /` (the docs page) and `GET /openapi.json` (the API's OpenAPI 3.1 document).
struct DocsRoutes {
    let jobs: Bool

    func register(on router: Router<FerryRequestContext>) {
        let page = Array(DocsPage.html.utf8)
        let document = Array(OpenAPIDocument.json(jobs: jobs))
        router.get("/") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8", .contentLength: String(page.count)],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: page)))
        }
        router.get("/openapi.json") { _, _ in Response.json(document) }
    }
}
