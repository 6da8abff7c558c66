import Foundation
import HTTPTypes
import HummingbirdTesting
import LedgerTestSupport
import Testing

/// A connection is closed after answering a request that does not keep it alive (HTTP/1.0 without
/// `Connection: keep-alive`, `Connection: close`), whether the fast path or the router answered,
/// and kept open otherwise: an HTTP/1.0 client never waits for a close that does not come.
struct KeepAliveTests {
    let path = "/token/demo/wechat/wxapp"

    @Test(.timeLimit(.minutes(1)))
    func aRequestThatDoesNotKeepTheConnectionIsAnsweredThenClosed() async throws {
        let fixture = try HTTPFixture()
        try await fixture.live { client, routed in
            #expect(try await client.call(.get, path + "?secret=S").status == 200)
            let port = try #require(client.client.port)
            let before = routed.count
            // A token read (the fast path), a route and an error (the router).
            for target in [path, "/readyz", "/token/demo/wechat/unknown", "/token/demo/wechat/bad%20id"] {
                for request in ["GET \(target) HTTP/1.0\r\n\r\n", "GET \(target) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"] {
                    let answer = try await RawHTTP.exchange(port: port, request)
                    #expect(answer.closed, "closed after answering \(request.debugDescription)")
                    #expect(answer.text.hasPrefix("HTTP/1.1 ") && answer.text.lowercased().contains("\r\nconnection: close\r\n"), "\(answer.text)")
                    #expect(answer.text.components(separatedBy: "HTTP/1.1 ").count == 2, "one answer")
                }
            }
            #expect(routed.count > before, "the router answered some")

            // Kept alive: HTTP/1.0 asking for it, and HTTP/1.1 by default; two requests on one connection.
            for version in ["HTTP/1.0\r\nConnection: keep-alive", "HTTP/1.1\r\nHost: x"] {
                let answer = try await RawHTTP.exchange(port: port, "GET \(path) \(version)\r\n\r\nGET /readyz \(version)\r\n\r\n", wait: .milliseconds(500))
                #expect(!answer.closed, "kept open: \(version)")
                #expect(answer.text.components(separatedBy: "HTTP/1.1 ").count == 3, "both answered: \(answer.text)")
                #expect(!answer.text.lowercased().contains("connection: close"))
            }
            // Keep-alive, then a request that closes: both answered, then closed.
            let last = try await RawHTTP.exchange(port: port, "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\nGET \(path) HTTP/1.0\r\n\r\n")
            #expect(last.closed && last.text.components(separatedBy: "HTTP/1.1 200").count == 3)
        }
    }
}
