import Foundation
import HTTPTypes
import HummingbirdTesting
import LedgerTestSupport
import NIOCore
import NIOPosix
import Synchronization
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
                    let answer = try await Self.exchange(port: port, request)
                    #expect(answer.closed, "closed after answering \(request.debugDescription)")
                    #expect(answer.text.hasPrefix("HTTP/1.1 ") && answer.text.lowercased().contains("\r\nconnection: close\r\n"), "\(answer.text)")
                    #expect(answer.text.components(separatedBy: "HTTP/1.1 ").count == 2, "one answer")
                }
            }
            #expect(routed.count > before, "the router answered some")

            // Kept alive: HTTP/1.0 asking for it, and HTTP/1.1 by default; two requests on one connection.
            for version in ["HTTP/1.0\r\nConnection: keep-alive", "HTTP/1.1\r\nHost: x"] {
                let answer = try await Self.exchange(port: port, "GET \(path) \(version)\r\n\r\nGET /readyz \(version)\r\n\r\n", wait: .milliseconds(500))
                #expect(!answer.closed, "kept open: \(version)")
                #expect(answer.text.components(separatedBy: "HTTP/1.1 ").count == 3, "both answered: \(answer.text)")
                #expect(!answer.text.lowercased().contains("connection: close"))
            }
            // Keep-alive, then a request that closes: both answered, then closed.
            let last = try await Self.exchange(port: port, "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\nGET \(path) HTTP/1.0\r\n\r\n")
            #expect(last.closed && last.text.components(separatedBy: "HTTP/1.1 200").count == 3)
        }
    }

    /// Sends `request` on a connection of its own; returns what came back within `wait` and
    /// whether the server closed the connection by then.
    static func exchange(port: Int, _ request: String, wait: Duration = .seconds(3)) async throws -> (text: String, closed: Bool) {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
        }
        // Past `wait` the client closes it: the reading below then ends too.
        let timedOut = Flag()
        let timer = channel.channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(wait / .nanoseconds(1)))) { [underlying = channel.channel] in
            timedOut.set()
            underlying.close(promise: nil)
        }
        var received = ""
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            do {
                for try await buffer in inbound { received += String(buffer: buffer) }
            } catch {
                // Closed by the timer while reading.
            }
        }
        timer.cancel()
        let closed = !timedOut.isSet
        return (received, closed)
    }
}

/// A flag set once, from any thread.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
