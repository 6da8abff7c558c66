import Foundation
import HTTPTypes
import LedgerTestSupport
import Testing
import TokenHTTP
import TokenLedger
import TokenUI

/// Sessions, CSRF tokens, scopes and projects on the dashboard (`auth.mode: keys`).
struct AccessTests {
    let admin = AccessControl.newKey(id: "ops", scopes: [.read, .refresh, .admin], projects: [])
    let reader = AccessControl.newKey(id: "viewer", scopes: [.read], projects: [])
    let demoAdmin = AccessControl.newKey(id: "demo-ops", scopes: [.read, .refresh, .admin], projects: ["demo"])

    func fixture() throws -> UIFixture {
        try UIFixture(access: AccessControl(mode: .keys, entries: [admin.entry, reader.entry, demoAdmin.entry]))
    }

    @Test func pagesNeedASessionOpenedWithAKnownKey() async throws {
        let fixture = try fixture()
        try await fixture.test { client in
            let anonymous = try await client.get("/ui")
            #expect(anonymous.status == 303 && anonymous.headers[.location] == "/ui/login")
            #expect(try await client.get("/ui/login").html.contains("name=\"key\""))
            let wrong = try await client.post("/ui/login", form: ["key": "tl_wrong"])
            #expect(wrong.status == 401 && wrong.headers[.setCookie] == nil)
            let answer = try await client.post("/ui/login", form: ["key": admin.key])
            let setCookie = try #require(answer.headers[.setCookie])
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/ui"))
            #expect(setCookie.contains("Max-Age=") && !setCookie.contains(admin.key), "the key itself is never in the cookie")
            let cookie = try await client.login(admin.key)
            #expect(try await client.get("/ui", cookie: cookie).status == 200)
            #expect(try await client.get("/ui/cluster", cookie: cookie).status == 200)
            // A cookie whose signature does not hold is no session.
            let tampered = cookie.replacingOccurrences(of: ".", with: "x", options: [], range: cookie.range(of: ".", options: .backwards))
            #expect(try await client.get("/ui", cookie: tampered).status == 303)
            let forgedID = cookie.replacingOccurrences(of: "=", with: "=0", options: [], range: cookie.range(of: "="))
            #expect(try await client.get("/ui", cookie: forgedID).status == 303)
        }
    }

    @Test func sessionsExpire() async throws {
        let fixture = try fixture()
        try await fixture.test { client in
            let cookie = try await client.login(admin.key)
            fixture.ledger.clock.advance(by: 8 * 3600 + 1)
            #expect(try await client.get("/ui", cookie: cookie).status == 303)
        }
    }

    @Test func aSessionHoldsAfterARestartAndOnAnotherReplicaUntilTheSealingKeyChanges() async throws {
        let fixture = try fixture()
        let access = try AccessControl(mode: .keys, entries: [admin.entry, reader.entry, demoAdmin.entry])
        // Another process with the same sealing key (a restart, another replica) accepts it; a
        // process with another sealing key does not: the session key is derived from it.
        let restarted = try Dashboard(ledger: fixture.ledger.ledger, sealer: fixture.ledger.sealer, access: access, now: { fixture.ledger.clock.now })
        let rotated = try Sealer(current: "k2", keys: ["k2": Sealer.generateKey()])
        let other = try Dashboard(ledger: fixture.ledger.ledger, sealer: rotated, access: access, now: { fixture.ledger.clock.now })
        try await fixture.test { client in
            let cookie = try await client.login(admin.key)
            try await fixture.test(with: restarted) { client async throws in
                #expect(try await client.get("/ui", cookie: cookie).status == 200)
            }
            try await fixture.test(with: other) { client async throws in
                #expect(try await client.get("/ui", cookie: cookie).status == 303)
            }
        }
    }

    @Test func sessionSettingsSetTheCookiesLifetimeAndSecureFlag() async throws {
        var settings = Dashboard.Settings()
        settings.sessionLifetime = .seconds(3600)
        settings.secureCookie = true
        let fixture = try UIFixture(access: AccessControl(mode: .keys, entries: [admin.entry]), settings: settings)
        try await fixture.test { client in
            let answer = try await client.post("/ui/login", form: ["key": admin.key])
            let setCookie = try #require(answer.headers[.setCookie])
            #expect(setCookie.contains("Max-Age=3600") && setCookie.hasSuffix("; Secure"))
            let cookie = String(setCookie.prefix { $0 != ";" })
            let csrf = try #require(try await client.get("/ui", cookie: cookie).csrf)
            let out = try await client.post("/ui/logout", cookie: cookie, form: ["csrf": csrf])
            #expect(out.headers[.setCookie]?.hasSuffix("; Secure") == true)
            fixture.ledger.clock.advance(by: 3601)
            #expect(try await client.get("/ui", cookie: cookie).status == 303)
        }
    }

    @Test func aReadKeySeesNoActionsAndCannotAct() async throws {
        let fixture = try fixture()
        try await fixture.app("demo", "wechat", "wx1")
        try await fixture.test { client in
            let cookie = try await client.login(reader.key)
            let page = try await client.get("/ui/app/demo/wechat/wx1", cookie: cookie)
            #expect(page.status == 200 && !page.html.contains("refresh-form") && !page.html.contains("secret-form"))
            #expect(!page.html.contains("revoke-form") && !page.html.contains("remove-form"))
            #expect(!page.html.contains("id=\"history\""), "the history is an admin's, as in the API")
            let csrf = try #require(page.csrf, "the sign-out form carries the session's token")
            let (events, calls) = (try await fixture.events().count, fixture.healthy.calls)
            let refused = try await client.post("/ui/app/demo/wechat/wx1/refresh", cookie: cookie, form: ["csrf": csrf, "confirm": "yes"])
            #expect(refused.status == 403)
            for action in ["revoke", "remove"] {
                let refusedToo = try await client.post("/ui/app/demo/wechat/wx1/\(action)", cookie: cookie, form: ["csrf": csrf, "confirm": "yes"])
                #expect(refusedToo.status == 403, "\(action) needs an admin key")
            }
            #expect(try await fixture.events().count == events && fixture.healthy.calls == calls)
        }
    }

    @Test func aForgedActionIsRefused() async throws {
        let fixture = try fixture()
        try await fixture.app("demo", "wechat", "wx1")
        try await fixture.test { client in
            let cookie = try await client.login(admin.key)
            let other = try await client.login(demoAdmin.key)
            let otherCSRF = try #require(try await client.get("/ui/app/demo/wechat/wx1", cookie: other).csrf)
            let events = try await fixture.events().count
            for form in [["confirm": "yes"], ["confirm": "yes", "csrf": "x"], ["confirm": "yes", "csrf": otherCSRF]] {
                let answer = try await client.post("/ui/app/demo/wechat/wx1/refresh", cookie: cookie, form: form)
                #expect(answer.status == 403, "\(form)")
            }
            let unsigned = try await client.post("/ui/app/demo/wechat/wx1/refresh", form: ["confirm": "yes", "csrf": otherCSRF])
            #expect(unsigned.status == 401)
            #expect(try await fixture.events().count == events)
            let csrf = try #require(try await client.get("/ui/app/demo/wechat/wx1", cookie: cookie).csrf)
            #expect(try await client.post("/ui/app/demo/wechat/wx1/refresh", cookie: cookie, form: ["confirm": "yes", "csrf": csrf]).status == 303)
            #expect(try await fixture.events().count == events + 1)
        }
    }

    @Test func aKeyForSomeProjectsSeesOnlyThose() async throws {
        let fixture = try fixture()
        let demo = try await fixture.app("demo", "wechat", "wx1")
        let other = try await fixture.app("other", "wechat", "wx1")
        try await fixture.test { client in
            let cookie = try await client.login(demoAdmin.key)
            let fleet = try await client.get("/ui", cookie: cookie)
            #expect(fleet.state(of: demo) != nil && fleet.state(of: other) == nil && !fleet.html.contains("value=\"other\""))
            #expect(try await client.get("/ui/app/other/wechat/wx1", cookie: cookie).status == 403)
            #expect(try await client.get("/ui/cluster", cookie: cookie).status == 403, "the cluster spans every project")
            let csrf = try #require(try await client.get("/ui/app/demo/wechat/wx1", cookie: cookie).csrf)
            let refused = try await client.post("/ui/app/other/wechat/wx1/refresh", cookie: cookie, form: ["confirm": "yes", "csrf": csrf])
            #expect(refused.status == 403)
        }
    }

    @Test func signingOutClearsTheCookie() async throws {
        let fixture = try fixture()
        try await fixture.test { client in
            let cookie = try await client.login(admin.key)
            let csrf = try #require(try await client.get("/ui", cookie: cookie).csrf)
            #expect(try await client.post("/ui/logout", cookie: cookie, form: [:]).status == 403)
            let out = try await client.post("/ui/logout", cookie: cookie, form: ["csrf": csrf])
            #expect(out.status == 303 && out.headers[.setCookie]?.contains("Max-Age=0") == true)
        }
    }

    @Test func aFormPostedFromAnotherSiteIsRefusedBeforeItIsRead() async throws {
        let fixture = try fixture()
        try await fixture.app("demo", "wechat", "wx1")
        try await fixture.test { client in
            let crossSite: HTTPFields = [HTTPField.Name("Sec-Fetch-Site")!: "cross-site"]
            let login = try await client.post("/ui/login", form: ["key": admin.key], headers: crossSite)
            #expect(login.status == 403 && login.headers[.setCookie] == nil, "no session is opened from another site's form")
            let cookie = try await client.login(admin.key)
            let csrf = try #require(try await client.get("/ui/app/demo/wechat/wx1", cookie: cookie).csrf)
            let events = try await fixture.events().count
            let refresh = try await client.post("/ui/app/demo/wechat/wx1/refresh", cookie: cookie, form: ["csrf": csrf, "confirm": "yes"], headers: crossSite)
            let after = try await fixture.events().count
            #expect(refresh.status == 403 && after == events)
            let sameSite: HTTPFields = [HTTPField.Name("Sec-Fetch-Site")!: "same-origin"]
            let done = try await client.post("/ui/app/demo/wechat/wx1/refresh", cookie: cookie, form: ["csrf": csrf, "confirm": "yes"], headers: sameSite)
            #expect(done.status == 303)
        }
    }
}
