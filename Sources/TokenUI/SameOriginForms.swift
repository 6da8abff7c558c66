import Hummingbird
import HTTPTypes

/// Refuses a form posted from another site (403) before anything of it is read: the login form
/// has no session to carry a CSRF token yet, and every other form carries one besides. A browser
/// says where a form comes from (`Sec-Fetch-Site`, `Origin`); a request that says nothing (a
/// script, an old browser) is left to the CSRF token.
struct SameOriginForms<Context: RequestContext>: RouterMiddleware {
    static var fetchSite: HTTPField.Name { HTTPField.Name("Sec-Fetch-Site")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, Self.isCrossSite(request) else { return try await next(request, context) }
        return Response(
            status: .forbidden,
            headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: "a dashboard form may only be posted from the dashboard itself"))
        )
    }

    /// Whether the request says it comes from another site: `Sec-Fetch-Site: cross-site`, or an
    /// `Origin` (other than `null`) whose host and port are not the request's `Host`.
    static func isCrossSite(_ request: Request) -> Bool {
        if request.headers[fetchSite] == "cross-site" { return true }
        // `null` says nothing: the pages' `Referrer-Policy: no-referrer` makes a browser send it
        // for our own forms too (`Sec-Fetch-Site` above still tells).
        guard let origin = request.headers[.origin], origin != "null", let host = request.head.authority else { return false }
        let originHost = origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first.map(String.init) ?? ""
        return originHost.lowercased() != host.lowercased()
    }
}
