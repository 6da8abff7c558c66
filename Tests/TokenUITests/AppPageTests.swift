import Foundation
import HTTPTypes
import LedgerTestSupport
import Testing
import TokenHTTP
import TokenLedger

/// `GET /ui/app/…`: the timeline, the history, the actions (open dashboard: `auth.mode: none`).
struct AppPageTests {
    @Test func theTimelineDrawsOneBarPerTokenAndMarksFailures() async throws {
        let fixture = try UIFixture()
        let stream = try await fixture.app("demo", "wechat", "wx1")
        for _ in 0..<2 {
            fixture.ledger.clock.advance(by: 600)
            _ = try await fixture.ledger.ledger.reader.refresh(stream, secret: nil, nowToken: nil, context: CallContext())
        }
        fixture.healthy.setFailure(PlatformError(.busy, platformCode: "-1"))
        _ = try? await fixture.ledger.ledger.reader.refresh(stream, secret: nil, nowToken: nil, context: CallContext())
        try await fixture.test { client in
            let page = try await client.get("/ui/app/demo/wechat/wx1")
            #expect(page.status == 200)
            #expect(page.count("class=\"bar\"") == 3)
            #expect(page.count("class=\"margin\"") == 3)
            #expect(page.count("class=\"forced\"") == 2, "both forced refreshes are marked")
            #expect(page.count("class=\"fail\"") == 1 && page.html.contains(">-1</text>"))
            #expect(page.count("class=\"secret\"") == 1)
            #expect(page.html.contains("<table id=\"history\">") && page.count("<td>token.issued</td>") == 3)
            #expect(page.html.contains("id=\"refresh-form\"") && page.html.contains("id=\"secret-form\""))
            let hour = try await client.get("/ui/app/demo/wechat/wx1?hours=1")
            #expect(hour.html.contains("last 1 h"))
            let missing = try await client.get("/ui/app/demo/wechat/nope")
            #expect(missing.status == 404)
        }
    }

    @Test func refreshNowAppendsOneEventAndCallsThePlatformOnce() async throws {
        let fixture = try UIFixture()
        let stream = try await fixture.app("demo", "wechat", "wx1")
        try await fixture.test { client in
            let page = try await client.get("/ui/app/demo/wechat/wx1")
            let csrf = try #require(page.csrf)
            let (events, calls) = (try await fixture.events().count, fixture.healthy.calls)
            let unconfirmed = try await client.post("/ui/app/demo/wechat/wx1/refresh", form: ["csrf": csrf])
            #expect(unconfirmed.status == 400, "an action needs its confirmation")
            let forged = try await client.post("/ui/app/demo/wechat/wx1/refresh", form: ["confirm": "yes"])
            #expect(forged.status == 403, "no CSRF token: refused")
            #expect(try await fixture.events().count == events && fixture.healthy.calls == calls)
            let done = try await client.post("/ui/app/demo/wechat/wx1/refresh", form: ["csrf": csrf, "confirm": "yes"])
            #expect(done.status == 303 && done.headers[.location] == "/ui/app/demo/wechat/wx1?done=refreshed")
            let after = try await fixture.events()
            #expect(after.count == events + 1 && after.last?.type == .tokenIssued && fixture.healthy.calls == calls + 1)
            #expect(try after.last?.decode(TokenIssued.self).reason == .forced)
            let shown = try await client.get("/ui/app/demo/wechat/wx1?done=refreshed")
            #expect(shown.html.contains("id=\"notice\""))
            _ = stream
        }
    }

    @Test func setSecretGoesThroughCredentials() async throws {
        let fixture = try UIFixture()
        let stream = try await fixture.app("demo", "wechat", "wx1", secret: "old", fetch: true)
        try await fixture.test { client in
            let csrf = try #require(try await client.get("/ui/app/demo/wechat/wx1").csrf)
            let done = try await client.post("/ui/app/demo/wechat/wx1/secret", form: ["csrf": csrf, "confirm": "yes", "secret": "S"])
            #expect(done.status == 303)
            #expect(fixture.ledger.ledger.projector.model.state(of: stream)?.secret == "S")
            #expect(try await fixture.events().filter { $0.type == .credentialsSet }.count == 2)
        }
    }

    @Test func revokeAndRemoveAppendOneEventEachAndCallNoPlatform() async throws {
        let fixture = try UIFixture()
        let stream = try await fixture.app("demo", "wechat", "wx1")
        try await fixture.test { client in
            let page = try await client.get("/ui/app/demo/wechat/wx1")
            #expect(page.html.contains("id=\"revoke-form\"") && page.html.contains("id=\"remove-form\""))
            let csrf = try #require(page.csrf)
            let (events, calls) = (try await fixture.events().count, fixture.healthy.calls)
            let forged = try await client.post("/ui/app/demo/wechat/wx1/revoke", form: ["confirm": "yes"])
            #expect(forged.status == 403, "no CSRF token: refused")
            let unconfirmed = try await client.post("/ui/app/demo/wechat/wx1/remove", form: ["csrf": csrf])
            #expect(unconfirmed.status == 400, "an action needs its confirmation")
            #expect(try await fixture.events().count == events)

            let revoked = try await client.post("/ui/app/demo/wechat/wx1/revoke", form: ["csrf": csrf, "confirm": "yes"])
            #expect(revoked.status == 303 && revoked.headers[.location] == "/ui/app/demo/wechat/wx1?done=revoked")
            #expect(try await fixture.events().last?.type == .tokenRevoked)
            #expect(fixture.ledger.ledger.projector.model.state(of: stream)?.token == nil, "the revoked token is not served")
            let again = try await client.post("/ui/app/demo/wechat/wx1/revoke", form: ["csrf": csrf, "confirm": "yes"])
            #expect(again.headers[.location] == "/ui/app/demo/wechat/wx1?done=nothing", "no token: nothing appended")

            let removed = try await client.post("/ui/app/demo/wechat/wx1/remove", form: ["csrf": csrf, "confirm": "yes"])
            #expect(removed.headers[.location] == "/ui/app/demo/wechat/wx1?done=removed")
            let after = try await fixture.events()
            #expect(after.count == events + 2 && after.last?.type == .credentialsRemoved)
            #expect(fixture.healthy.calls == calls, "neither action calls the platform")
            await #expect(throws: LedgerError.self) {
                _ = try await fixture.ledger.ledger.reader.token(for: stream, secret: nil, context: CallContext())
            }
        }
    }
}
