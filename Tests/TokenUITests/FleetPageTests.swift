import Foundation
import HTTPTypes
import LedgerTestSupport
import Testing
import TokenHTTP
import TokenLedger

/// `GET /ui`: states, counts, filters, paging, escaping.
struct FleetPageTests {
    @Test func eachAppIsShownInItsState() async throws {
        let fixture = try UIFixture()
        let fresh = try await fixture.app("demo", "wechat", "wx-fresh")
        let failing = try await fixture.app("demo", "feishu", "cli-busy")
        let parked = try await fixture.app("demo", "wechat", "wx-rejected", secret: "wrong")
        let none = try await fixture.app("other", "wechat", "wx-new", fetch: false)
        let stale = try await fixture.app("other", "wechat", "wx-stale")
        try await fixture.test { client in
            let page = try await client.get("/ui")
            #expect(page.status == 200)
            #expect(page.state(of: fresh) == "fresh")
            #expect(page.state(of: failing) == "failing")
            #expect(page.state(of: parked) == "parked")
            #expect(page.state(of: none) == "no_token")
            #expect(page.state(of: stale) == "fresh")
            #expect(page.html.contains("upstream_busy: -1"), "the platform's own error is shown")
            #expect(page.html.contains("upstream_rejected_credentials: 40001"))
            #expect(page.html.contains("<b>5</b>all apps"))
            // The scheduler's plan: 300 s margin and 60 s lead before the 7200 s expiry; none for a parked app.
            #expect(page.html.contains(">in 1h 54m</td>") && page.html.contains(">after a new secret"))
            fixture.ledger.clock.advance(by: 7200 - 200)
            let later = try await client.get("/ui?state=stale")
            #expect(later.state(of: stale) == "stale" && later.state(of: fresh) == "stale")
            #expect(later.state(of: failing) == nil, "the state filter keeps only stale apps")
        }
    }

    @Test func filtersByProjectAndPlatform() async throws {
        let fixture = try UIFixture()
        let a = try await fixture.app("alpha", "wechat", "wx1", fetch: false)
        let b = try await fixture.app("beta", "wechat", "wx1", fetch: false)
        let c = try await fixture.app("beta", "feishu", "cli1", fetch: false)
        try await fixture.test { client in
            let beta = try await client.get("/ui?project=beta")
            #expect(beta.state(of: a) == nil && beta.state(of: b) != nil && beta.state(of: c) != nil)
            let betaWechat = try await client.get("/ui?project=beta&platform=wechat")
            #expect(betaWechat.state(of: b) != nil && betaWechat.state(of: c) == nil)
            #expect(betaWechat.html.contains("<option value=\"beta\" selected>"))
        }
    }

    @Test(.timeLimit(.minutes(2))) func tenThousandAppsArePaged() async throws {
        let fixture = try UIFixture()
        for index in 0..<10_000 {
            try await fixture.app("p\(index % 10)", "wechat", String(format: "wx%05d", index), fetch: false)
        }
        try await fixture.test { client in
            // How fast is measured by tools/bench-ui (release build), not asserted here.
            let first = try await client.get("/ui")
            #expect(first.status == 200)
            #expect(first.count("<tr data-app=") == 100)
            #expect(first.html.contains("10000 matching, page 1 of 100"))
            #expect(first.html.contains("rel=\"next\" href=\"/ui?page=2\""))
            let last = try await client.get("/ui?project=p3&page=10")
            #expect(last.count("<tr data-app=") == 100 && last.html.contains("1000 matching, page 10 of 10"))
            #expect(last.html.contains("p3/wechat/wx09993") && !last.html.contains("rel=\"next\""))
            let beyond = try await client.get("/ui?page=999")
            #expect(beyond.html.contains("page 100 of 100"), "a page past the end shows the last one")
        }
    }

    @Test func whatCallersControlIsEscaped() async throws {
        let fixture = try UIFixture()
        let failing = try await fixture.app("demo", "feishu", "cli-busy")
        try await fixture.test { client in
            let fleet = try await client.get("/ui?project=%3Cscript%3E&platform=%22%3E%3Ci%3E")
            #expect(fleet.status == 200 && !fleet.html.contains("<script>") && !fleet.html.contains("\"><i>"))
            #expect(fleet.html.contains("%3Cscript%3E"), "a filter value goes back into links percent-encoded")
            let all = try await client.get("/ui")
            #expect(all.state(of: failing) == "failing")
            #expect(!all.html.contains(UIFixture.hostile) && all.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            let app = try await client.get("/ui/app/demo/feishu/cli-busy")
            #expect(app.status == 200 && !app.html.contains(UIFixture.hostile) && app.html.contains("&lt;script&gt;"))
            let bad = try await client.get("/ui/app/demo/feishu/%3Cscript%3E")
            #expect(bad.status == 400 && !bad.html.contains("<script>"))
        }
    }
}
