public import AsyncHTTPClient
import NIOCore
import NIOHTTP1
public import TokenLedger

/// Posts webhook deliveries with AsyncHTTPClient: redirects are never followed (the client of
/// `PlatformRegistry.httpClient`), and every URL is judged by the token URLs' address rules
/// before each request, as the name it names may resolve elsewhere by then.
public struct HTTPWebhookSender: WebhookSender {
    let client: HTTPClient
    let policy: TokenURLPolicy
    let timeout: Duration

    /// A sender over `client` (one that follows no redirect), judging URLs by `policy`, each
    /// request bounded by `timeout`.
    public init(client: HTTPClient = PlatformRegistry.httpClient, policy: TokenURLPolicy, timeout: Duration) {
        self.client = client
        self.policy = policy
        self.timeout = timeout
    }

    public func send(_ request: WebhookRequest) async throws -> Int {
        try await policy.check(request.url, name: "the url of webhook \(request.webhook)")
        var post = HTTPClientRequest(url: request.url)
        post.method = .POST
        for header in request.headers { post.headers.add(name: header.name, value: header.value) }
        post.body = .bytes(ByteBuffer(bytes: request.body))
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        let response = try await client.execute(post, timeout: .nanoseconds(nanoseconds))
        // The receiver's answer is not read beyond a little: only its status counts.
        _ = try? await response.body.collect(upTo: 64 * 1024)
        return Int(response.status.code)
    }
}
