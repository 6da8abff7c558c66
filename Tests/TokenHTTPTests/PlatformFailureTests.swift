import HTTPTypes
import Hummingbird
import LedgerTestSupport
import Testing
import TokenHTTP
import TokenLedger

/// A platform's refusals and outages: a status and a stable code for the caller, an event for the audit.
struct PlatformFailureTests {
    @Test func rejectedCredentialsAreABadGatewayWithThePlatformsCode() async throws {
        let fixture = try HTTPFixture(platform: FakePlatform(secret: "right"))
        try await fixture.test { client async throws in
            let rejected = try await client.call(.get, "/token/demo/wechat/wxrej?secret=wrong")
            #expect(rejected.outcome == (502, "upstream_rejected_credentials"))
            #expect(rejected.error?.contains("40001") == true, "\(rejected.text)")
            #expect(rejected.dataIsNull)
        }
    }

    @Test(arguments: [
        (PlatformError.Kind.busy, 503, "upstream_busy"),
        (.malformedAnswer, 502, "upstream_malformed_answer"),
        (.unreachable, 503, "upstream_unreachable"),
        (.quotaExhausted, 503, "upstream_quota_exhausted"),
        (.rateLimited, 503, "upstream_rate_limited"),
        (.refused, 502, "upstream_refused"),
    ])
    func platformFailuresAreRecordedAndExplained(kind: PlatformError.Kind, status: Int, code: String) async throws {
        let fixture = try HTTPFixture()
        fixture.platform.setFailure(PlatformError(kind, platformCode: "E1"))
        try await fixture.test { client async throws in
            let answer = try await client.call(.get, "/token/demo/wechat/wxfail?secret=S")
            #expect(answer.outcome == (status, code))
            #expect(answer.code == status && answer.dataIsNull)
            let history = try await client.call(.get, "/token/demo/wechat/wxfail/history")
            #expect(history.text.contains("token.refresh_failed"))
            #expect(history.text.contains(#""error":"\#(code)""#), "\(history.text)")
        }
    }

    @Test func aStillValidTokenIsServedWhileThePlatformFails() async throws {
        // Tokens live 7200 s and are fresh until 300 s before they expire.
        let fixture = try HTTPFixture(freshness: Freshness(earlySeconds: 300, maxFraction: 0.5))
        try await fixture.test { client async throws in
            let path = "/token/demo/wechat/wxstale"
            let token = try #require(try await client.call(.get, path + "?secret=S").data)
            fixture.ledger.clock.advance(by: 7000)
            fixture.platform.setFailure(PlatformError(.busy))
            let stale = try await client.call(.get, path)
            #expect(stale.status == 200)
            #expect(stale.data == token)
            #expect(stale.header("X-Token-Stale") == "true")
            // Recovery: the platform answers again, a fresh token is fetched.
            fixture.platform.setFailure(nil)
            fixture.ledger.clock.advance(by: 60)
            let fresh = try await client.call(.get, path)
            #expect(fresh.status == 200)
            #expect(fresh.data != token)
            #expect(fresh.header("X-Token-Stale") == nil)
        }
    }
}
