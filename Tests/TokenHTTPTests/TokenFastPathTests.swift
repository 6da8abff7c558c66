import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerTestSupport
import Testing
import TokenHTTP
import TokenLedger

/// Reads answered beside the router, on a live server: the router's answer byte for byte, a new
/// token as soon as it is recorded, never a token past its freshness margin, and every key's
/// scopes enforced. The fixture counts the requests the router answered.
struct TokenFastPathTests {
    let path = "/token/demo/wechat/wxapp"

    @Test func answersAsTheRouterDoes() async throws {
        let fixture = try HTTPFixture()
        try await fixture.live { client, routed in
            #expect(try await client.call(.get, path + "?secret=S").status == 200)
            let before = routed.count
            let fast = try await client.call(.get, path)
            let again = try await client.call(.get, path)
            #expect(routed.count == before, "answered beside the router")
            // The same read sent to the router: the registered secret in a header.
            let viaRouter = try await client.call(.get, path, headers: [HTTPField.Name("X-App-Secret")!: "S"])
            #expect(routed.count == before + 1)
            #expect(fast.status == 200 && fast.text == viaRouter.text && again.text == fast.text)
            #expect(fast.headers.map(\.name) == viaRouter.headers.map(\.name), "the same headers in the same order")
            for field in fast.headers where field.name != .date {
                #expect(viaRouter.headers[field.name] == field.value, "\(field.name)")
            }
            let date = try #require(fast.headers[.date])
            #expect(date.hasSuffix(" GMT") && date.count == viaRouter.headers[.date]?.count)
        }
    }

    @Test func aNewTokenReplacesTheEncodedAnswer() async throws {
        let fixture = try HTTPFixture()
        try await fixture.live { client, routed in
            let first = try #require(try await client.call(.get, path + "?secret=S").data)
            #expect(try await client.call(.get, path).data == first)
            let forced = try await client.call(.put, path, body: "{}")
            let second = try #require(forced.data)
            #expect(second != first)
            let before = routed.count
            let read = try await client.call(.get, path)
            #expect(read.data == second && read.header("X-Ledger-Position") == forced.header("X-Ledger-Position"))
            #expect(routed.count == before, "the new token is answered beside the router too")
            // Revoked: nothing to serve from memory, the router fetches a new one.
            #expect(try await client.call(.delete, path).status == 200)
            let third = try await client.call(.get, path)
            #expect(third.data != nil && third.data != second && routed.count == before + 2)
        }
    }

    @Test func aTokenPastItsMarginIsNeverServedFromTheEncodedAnswer() async throws {
        let fixture = try HTTPFixture()
        try await fixture.live { client, routed in
            let first = try #require(try await client.call(.get, path + "?secret=S").data)
            #expect(try await client.call(.get, path).data == first)
            // Inside the 300 s margin: renewed by the router, not served from the kept answer.
            fixture.ledger.clock.advance(by: 7200 - 295)
            var before = routed.count
            let renewed = try await client.call(.get, path)
            #expect(renewed.data != nil && renewed.data != first && routed.count == before + 1)
            #expect(fixture.platform.calls == 2)
            // Inside the margin again with the platform failing: the router serves it as stale.
            fixture.ledger.clock.advance(by: 7200 - 295)
            fixture.platform.setFailure(PlatformError(.unreachable, platformCode: "E1"))
            before = routed.count
            let stale = try await client.call(.get, path)
            #expect(stale.data == renewed.data && stale.header("X-Token-Stale") == "true" && routed.count == before + 1)
            // Past its expiry: an error, from the router.
            fixture.ledger.clock.advance(by: 305)
            let expired = try await client.call(.get, path)
            #expect(expired.status == 503 && expired.dataIsNull && routed.count == before + 2)
        }
    }

    @Test func everyKeyIsCheckedAsTheRouterChecksIt() async throws {
        let keys = try TestKeys()
        let fixture = try HTTPFixture(access: keys.access)
        try await fixture.live { client, routed in
            #expect(try await client.call(.get, path + "?secret=S", key: keys.admin).status == 200)
            let before = routed.count
            let read = try await client.call(.get, path, key: keys.reader)
            #expect(read.status == 200 && routed.count == before)
            // Refused on the same connection right after an accepted key: the router answers.
            let refused: [(String?, Int, String)] = [
                (nil, 401, "unauthenticated"), ("tl_wrong", 401, "unauthenticated"), (keys.reader + "x", 401, "unauthenticated"),
                (keys.demoAdmin, 403, "forbidden"),
            ]
            for (index, (key, status, code)) in refused.enumerated() {
                #expect(try await client.call(.get, path, key: key).outcome == (status, code), "\(key ?? "no key")")
                #expect(routed.count == before + index + 1)
                #expect(try await client.call(.get, path, key: keys.reader).data == read.data)
            }
            // A reader of another project.
            #expect(try await client.call(.get, "/token/other/wechat/wxapp", key: keys.reader).outcome == (403, "forbidden"))
        }
    }

    @Test func theSameBytesAsTheRouterOnTheWire() async throws {
        let fixture = try HTTPFixture()
        try await fixture.live { client, routed in
            let connection = try RawConnection(port: try #require(client.client.port))
            try connection.send(Self.request(path + "?secret=S"))
            _ = try connection.answer()
            let before = routed.count
            try connection.send(Self.request(path))
            let fast = try connection.answer()
            try connection.send(Self.request(path, headers: ["X-App-Secret: S"]))
            let viaRouter = try connection.answer()
            try connection.send(Self.request(path))
            let again = try connection.answer()
            #expect(routed.count == before + 1, "the first and last answered beside the router")
            #expect(fast.hasPrefix("HTTP/1.1 200 OK\r\n") && Self.data(fast) != nil)
            #expect(Self.withoutDate(fast) == Self.withoutDate(viaRouter), "byte for byte but the date")
            #expect(Self.withoutDate(again) == Self.withoutDate(fast))
        }
    }

    @Test func pipelinedReadsAndRoutedRequestsAreAnsweredInOrder() async throws {
        let fixture = try HTTPFixture()
        try await fixture.live { client, routed in
            let connection = try RawConnection(port: try #require(client.client.port))
            try connection.send(Self.request(path + "?secret=S"))
            let first = try #require(Self.data(try connection.answer()))
            // In one write: a read, a forced refresh (the router's), reads behind it, a HEAD, and a
            // read that closes the connection.
            try connection.send(
                Self.request(path) + Self.request(path, method: "PUT", headers: ["Content-Length: 2"]) + "{}" + Self.request(path)
                    + Self.request(path, method: "HEAD") + Self.request(path) + Self.request(path, headers: ["Connection: close"])
            )
            #expect(Self.data(try connection.answer()) == first)
            let second = try #require(Self.data(try connection.answer()))
            #expect(second != first)
            #expect(Self.data(try connection.answer()) == second, "answered after the refresh it follows")
            // The router's answer to the HEAD: a head without its body (the reads after it would not
            // parse otherwise).
            let head = try connection.answer(toHead: true)
            #expect(head.hasPrefix("HTTP/1.1 ") && head.contains("\r\nContent-Length: "), "\(head)")
            #expect(Self.data(try connection.answer()) == second)
            #expect(Self.data(try connection.answer()) == second)
            #expect(try connection.isClosedByServer())
            #expect(routed.count >= 4, "at least the registration, the refresh, the HEAD and the closing read")
        }
    }

    @Test func anHTTP10ReadGoesToTheRouter() async throws {
        let fixture = try HTTPFixture()
        try await fixture.live { client, routed in
            let connection = try RawConnection(port: try #require(client.client.port))
            try connection.send(Self.request(path + "?secret=S"))
            let token = Self.data(try connection.answer())
            let before = routed.count
            let old = try RawConnection(port: try #require(client.client.port))
            try old.send(Self.request(path, version: "HTTP/1.0"))
            #expect(Self.data(try old.answer()) == token)
            #expect(routed.count == before + 1)
        }
    }

    static func request(_ path: String, method: String = "GET", version: String = "HTTP/1.1", headers: [String] = []) -> String {
        "\(method) \(path) \(version)\r\nHost: localhost\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n"
    }

    /// An answer as sent, its `Date` header's value blanked.
    static func withoutDate(_ answer: String) -> String {
        answer.split(separator: "\r\n", omittingEmptySubsequences: false).map { $0.hasPrefix("Date: ") ? "Date: -" : String($0) }.joined(separator: "\r\n")
    }

    /// The `data` of an answer's envelope.
    static func data(_ answer: String) -> String? {
        guard let body = answer.split(separator: "\r\n\r\n", maxSplits: 1).last,
            let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        else { return nil }
        return object["data"] as? String
    }
}
