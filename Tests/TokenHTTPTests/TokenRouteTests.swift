import Foundation
import HTTPTypes
import Hummingbird
import LedgerTestSupport
import Testing
import TokenHTTP
import TokenLedger

/// GET and PUT as the original service answered them, and the audit routes.
struct TokenRouteTests {
    let path = "/token/demo/wechat/wxapp"

    @Test func getAndPutBehaveLikeTheOriginalService() async throws {
        let fixture = try HTTPFixture(platform: FakePlatform(secret: "right-secret-value", prefix: "token-of-wxapp-"))
        try await fixture.test { client async throws in
            let first = try await client.call(.get, path + "?secret=right-secret-value")
            #expect(first.status == 200 && first.code == 200 && first.error == "")
            #expect(first.header("Content-Type") == "application/json; charset=utf-8")
            let token = try #require(first.data)
            #expect(token == fixture.platform.current)
            #expect(first.header("X-Ledger-Position") == "2", "credentials.set, then token.issued")
            let expiresAt = Int64(fixture.ledger.clock.now.timeIntervalSince1970) + 7200
            #expect(first.header("X-Token-Expires-At").flatMap { Int64($0) }.map { abs($0 - expiresAt) <= 1 } == true)
            #expect(first.header("X-Token-Stale") == nil)

            // Later reads need no secret and do not call the platform.
            #expect(try await client.call(.get, path).data == token)
            #expect(try await client.call(.get, path, headers: [HTTPField.Name("X-App-Secret")!: "right-secret-value"]).data == token)
            #expect(fixture.platform.calls == 1)

            // A nowToken that is no longer current returns the current token untouched.
            #expect(try await client.call(.put, path, body: #"{"nowToken":"some-older-token"}"#).data == token)
            #expect(fixture.platform.calls == 1)

            // The current token reported bad: refreshed (query string accepted, as the original read it).
            let second = try #require(try await client.call(.put, path + "?nowToken=\(token)").data)
            #expect(second != token && second == fixture.platform.current)

            // No nowToken: always a new one.
            let forced = try await client.call(.put, path, body: "{}")
            let third = try #require(forced.data)
            #expect(third != second)
            #expect(forced.header("X-Ledger-Position") == "4")
            #expect(try await client.call(.get, path).data == third)

            // History: every event, tokens masked.
            let history = try await client.call(.get, path + "/history")
            #expect(history.status == 200)
            for text in ["credentials.set", #""reason":"miss""#, #""reason":"compare""#, #""reason":"forced""#] {
                #expect(history.text.contains(text), "\(text)")
            }
            let page = try await client.call(.get, path + "/history?after=1&limit=2")
            #expect(page.text.components(separatedBy: #""type":"token.issued""#).count - 1 == 2, "a page of two after version 1")
            // The global feed, filtered and paged.
            let feed = try await client.call(.get, "/events?project=demo&type=token.issued&limit=2")
            #expect(feed.status == 200)
            #expect(feed.text.components(separatedBy: #""type":"token.issued""#).count - 1 == 2)
            #expect(!feed.text.contains("credentials.set"))
            let next = try #require(feed.header("X-Ledger-Next-After"))
            let rest = try await client.call(.get, "/events?project=demo&type=token.issued&after=\(next)")
            #expect(rest.text.components(separatedBy: #""type":"token.issued""#).count - 1 == 1)
            #expect(try await client.call(.get, "/events?project=other").text == #"{"code":200,"data":[],"error":""}"#)
            for secretOrToken in ["right-secret-value", token, second, third] {
                #expect(!history.text.contains(secretOrToken), "history never shows a secret or a whole token")
                #expect(!feed.text.contains(secretOrToken) && !rest.text.contains(secretOrToken), "the events feed masks them too")
            }
        }
    }

    @Test func theCallersRequestIdAndSecretInTheBodyAreUsed() async throws {
        let fixture = try HTTPFixture()
        try await fixture.test { client async throws in
            let answer = try await client.call(.put, path, body: #"{"secret":"S"}"#, headers: [HTTPField.Name("X-Request-Id")!: "req-42"])
            #expect(answer.status == 200)
            let history = try await client.call(.get, path + "/history")
            #expect(history.text.contains(#""request_id":"req-42""#))
        }
    }

    @Test func credentialsAreSetExactlyAsGiven() async throws {
        let fixture = try HTTPFixture()
        try await fixture.test { client async throws in
            let set = try await client.call(.put, path + "/credentials", body: #"{"secret":"S","options":{"mode":"classic"},"verify":false}"#)
            #expect(set.text == #"{"code":200,"data":{"stream":"demo/wechat/wxapp","version":"1"},"error":""}"#)
            #expect(fixture.platform.calls == 0, "verify false and no working credentials: the platform is not asked")
            #expect(try await client.call(.get, path).data == fixture.platform.current)
            // Working credentials replaced by refused ones: the platform says no, nothing changes.
            let refused = try await client.call(.put, path + "/credentials", body: #"{"secret":"wrong"}"#)
            #expect(refused.outcome == (502, "upstream_rejected_credentials"))
            #expect(try await fixture.events().filter { $0.type == .credentialsSet }.count == 1)
        }
    }

    @Test func aMinPositionAlreadyReachedIsServedAtOnce() async throws {
        let fixture = try HTTPFixture()
        try await fixture.test { client async throws in
            let first = try await client.call(.get, path + "?secret=S")
            let position = try #require(first.header("X-Ledger-Position"))
            let again = try await client.call(.get, path, headers: [HTTPField.Name("X-Ledger-Min-Position")!: position])
            #expect(again.data == first.data)
        }
    }
}
