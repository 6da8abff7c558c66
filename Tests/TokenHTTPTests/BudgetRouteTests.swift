import Foundation
import HTTPTypes
import LedgerTestSupport
import Testing
import TokenHTTP
import TokenLedger

/// Forced refreshes beyond the budget answered 429, and `GET /token/…/status`.
struct BudgetRouteTests {
    let path = "/token/demo/wechat/wx1"

    func object(_ answer: HTTPFixture.Answer) throws -> [String: Any] {
        let envelope = try #require(try JSONSerialization.jsonObject(with: Data(answer.text.utf8)) as? [String: Any])
        return try #require(envelope["data"] as? [String: Any])
    }

    @Test func aForcedRefreshBeyondTheBudgetIsAnswered429InTheEnvelope() async throws {
        let fixture = try HTTPFixture(budgets: QuotaBudgets(["wechat": QuotaBudget(forcedDaily: 1)]))
        try await fixture.test { client async throws in
            let token = try #require(try await client.call(.get, path + "?secret=S").data)
            #expect(try await client.call(.put, path, body: "{}").status == 200)
            let refused = try await client.call(.put, path, body: "{}")
            #expect(refused.outcome == (429, "quota_budget_exhausted"))
            #expect(refused.code == 429 && refused.dataIsNull)
            #expect(refused.error?.contains("1 of 1 forced refreshes") == true)
            // A caller reporting the token bad is served: that refresh serves readers.
            let current = try #require(try await client.call(.get, path).data)
            #expect(current != token)
            #expect(try await client.call(.put, path, body: #"{"nowToken":"\#(current)"}"#).status == 200)
            #expect(fixture.platform.calls == 3)
            let refusals = try await fixture.events().filter { $0.type == .refreshFailed }
            #expect(refusals.count == 1)
        }
    }

    @Test func theStatusTellsStateExpiryAndBudgetButNeverTheToken() async throws {
        let fixture = try HTTPFixture(
            platform: FakePlatform(prefix: "token-of-wx1-"), budgets: QuotaBudgets(["wechat": QuotaBudget(daily: 2000, forcedDaily: 20)])
        )
        try await fixture.test { client async throws in
            let token = try #require(try await client.call(.get, path + "?secret=S").data)
            _ = try await client.call(.put, path, body: "{}")
            let answer = try await client.call(.get, path + "/status")
            #expect(answer.status == 200)
            #expect(!answer.text.contains(token) && !answer.text.contains(fixture.platform.current ?? "?"))
            let status = try object(answer)
            #expect(status["stream"] as? String == "demo/wechat/wx1")
            #expect(status["state"] as? String == "fresh")
            #expect(status["expires_at"] is String && status["stale_at"] is String)
            #expect(status["next_renewal"] is NSNull && status["last_failure"] is NSNull)
            let budget = try #require(status["budget"] as? [String: Any])
            let calls = try #require(budget["calls"] as? [String: Any])
            let forced = try #require(budget["forced"] as? [String: Any])
            #expect(calls["used"] as? Int == 2 && calls["limit"] as? Int == 2000)
            #expect(forced["used"] as? Int == 1 && forced["limit"] as? Int == 20)
            #expect(budget["resets_at"] is String)

            #expect(try await client.call(.get, "/token/demo/wechat/nobody/status").outcome == (404, "not_found"))
            #expect(try await client.call(.get, "/token/demo/nowhere/wx1/status").outcome == (400, "unknown_platform"))
        }
    }

    @Test func anAppWithoutABudgetShowsNullLimits() async throws {
        let fixture = try HTTPFixture()
        try await fixture.test { client async throws in
            _ = try await client.call(.get, path + "?secret=S")
            let budget = try #require(try object(try await client.call(.get, path + "/status"))["budget"] as? [String: Any])
            #expect((budget["calls"] as? [String: Any])?["limit"] is NSNull)
        }
    }

    @Test func theStatusNeedsTheReadScopeOnTheProject() async throws {
        let keys = try TestKeys()
        let fixture = try HTTPFixture(access: keys.access)
        try await fixture.test { client async throws in
            #expect(try await client.call(.get, path + "?secret=S", key: keys.admin).status == 200)
            #expect(try await client.call(.get, path + "/status").outcome == (401, "unauthenticated"))
            #expect(try await client.call(.get, path + "/status", key: keys.reader).status == 200)
            #expect(try await client.call(.get, "/token/other/wechat/wx1/status", key: keys.reader).outcome == (403, "forbidden"))
            #expect(fixture.platform.calls == 1)
        }
    }
}
