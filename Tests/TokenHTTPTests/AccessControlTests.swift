import HTTPTypes
import Hummingbird
import LedgerTestSupport
import Testing
import TokenHTTP
import TokenLedger

/// API keys on every route, for every kind of key: refused requests are answered in the envelope
/// and change nothing (no event, no platform call).
struct AccessControlTests {
    let path = "/token/demo/wechat/wx1"

    @Test func refusedCallersGetTheEnvelopeAndChangeNothing() async throws {
        let keys = try TestKeys()
        let fixture = try HTTPFixture(access: keys.access)
        try await fixture.test { client async throws in
            let refused: [(HTTPRequest.Method, String, String?, String?, Int, String)] = [
                // No key, an unknown key, a malformed header: 401 before anything else is read.
                (.get, path + "?secret=S", nil, nil, 401, "unauthenticated"),
                (.get, path + "?secret=S", "tl_wrong", nil, 401, "unauthenticated"),
                (.put, path, nil, "not json", 401, "unauthenticated"),
                (.put, path + "/credentials", "tl_wrong", #"{"secret":"S"}"#, 401, "unauthenticated"),
                (.get, path + "/history", nil, nil, 401, "unauthenticated"),
                (.get, "/events", nil, nil, 401, "unauthenticated"),
                // Registering a secret is an admin's business.
                (.get, path + "?secret=S", keys.reader, nil, 403, "forbidden"),
                (.put, path + "?secret=S", keys.refresher, nil, 403, "forbidden"),
                (.put, path, keys.refresher, #"{"secret":"S"}"#, 403, "forbidden"),
                // Refreshing needs refresh; credentials, history and the feed need admin.
                (.put, path, keys.reader, nil, 403, "forbidden"),
                (.put, path, keys.demoAdmin, nil, 403, "forbidden"),
                (.put, path + "/credentials", keys.refresher, #"{"secret":"S"}"#, 403, "forbidden"),
                (.get, path + "/history", keys.refresher, nil, 403, "forbidden"),
                (.get, "/events?project=demo", keys.refresher, nil, 403, "forbidden"),
                // A key limited to projects: not another project, not the whole feed.
                (.get, "/token/other/wechat/wx1?secret=S", keys.demoAdmin, nil, 403, "forbidden"),
                (.put, "/token/other/wechat/wx1/credentials", keys.demoAdmin, #"{"secret":"S"}"#, 403, "forbidden"),
                (.get, "/token/other/wechat/wx1/history", keys.demoAdmin, nil, 403, "forbidden"),
                (.get, "/events", keys.demoAdmin, nil, 403, "forbidden"),
                (.get, "/events?project=other", keys.demoAdmin, nil, 403, "forbidden"),
            ]
            for (method, uri, key, body, status, code) in refused {
                let answer = try await client.call(method, uri, key: key, body: body)
                #expect(answer.outcome == (status, code), "\(method) \(uri)")
                #expect(answer.code == status && answer.dataIsNull && answer.error?.isEmpty == false, "\(method) \(uri): \(answer.text)")
            }
            let basic = try await client.call(.get, path, headers: [.authorization: "Basic b3BzOnM="])
            #expect(basic.outcome == (401, "unauthenticated"), "only bearer keys are read")
            #expect(try await fixture.events().isEmpty, "nothing was appended for a refused caller")
            #expect(fixture.platform.calls == 0, "nothing was fetched for a refused caller")
        }
    }

    @Test func eachKeyDoesWhatItsScopesAndProjectsAllow() async throws {
        let keys = try TestKeys()
        let fixture = try HTTPFixture(access: keys.access)
        try await fixture.test { client async throws in
            #expect(try await client.call(.get, path + "?secret=S", key: keys.admin).status == 200)
            #expect(try await client.call(.get, path, key: keys.reader).status == 200)
            #expect(try await client.call(.get, path + "?secret=S", key: keys.reader).status == 200, "the registered secret again registers nothing")
            #expect(try await client.call(.get, path, headers: [.authorization: "Bearer \(keys.reader)", HTTPField.Name("X-App-Secret")!: "S"]).status == 200)
            #expect(try await client.call(.get, path, key: keys.demoAdmin).outcome == (403, "forbidden"), "admin alone does not read")
            #expect(try await client.call(.put, path, key: keys.refresher).status == 200)
            #expect(try await client.call(.put, path, key: keys.refresher, body: #"{"secret":"S"}"#).status == 200, "the registered secret is no change")
            #expect(try await client.call(.put, path + "/credentials", key: keys.demoAdmin, body: #"{"secret":"S"}"#).status == 200)
            let history = try await client.call(.get, path + "/history", key: keys.demoAdmin)
            #expect(history.status == 200)
            #expect(history.text.contains(#""actor":"ops""#) && history.text.contains(#""actor":"refresher""#), "who asked is recorded")
            #expect(try await client.call(.get, "/events?project=demo", key: keys.demoAdmin).status == 200)
            #expect(try await client.call(.get, "/events", key: keys.admin).status == 200)
        }
    }

    @Test func aNewSecretFromAnAdminIsRegisteredAndFromAReaderIsNot() async throws {
        let keys = try TestKeys()
        let fixture = try HTTPFixture(access: keys.access)
        try await fixture.test { client async throws in
            #expect(try await client.call(.get, path + "?secret=S", key: keys.admin).status == 200)
            fixture.platform.setSecret("S2")
            #expect(try await client.call(.put, path, key: keys.refresher, body: #"{"secret":"S2"}"#).outcome == (403, "forbidden"))
            let before = try await fixture.events().count
            #expect(try await client.call(.put, path, key: keys.admin, body: #"{"secret":"S2"}"#).status == 200)
            #expect(try await fixture.events().count > before)
            #expect(try await client.call(.get, path + "?secret=S2", key: keys.reader).status == 200, "now the registered one")
        }
    }

    @Test func openRoutesNeedNoKey() async throws {
        let keys = try TestKeys()
        let fixture = try HTTPFixture(access: keys.access, metrics: { Response(status: .ok) })
        try await fixture.ledger.ledger.projector.catchUp()
        try await fixture.test { client async throws in
            #expect(try await client.call(.get, "/healthz").status == 200, "liveness needs no key")
            #expect(try await client.call(.get, "/readyz").status == 200, "readiness needs no key")
            #expect(try await client.call(.get, "/metrics").status == 200, "metrics need no key")
            #expect(try await client.call(.get, "/nothing/here").outcome == (404, "not_found"), "an unknown route is not found, key or not")
        }
    }

    @Test func withAccessControlOffAnyoneMayDoAnything() async throws {
        let fixture = try HTTPFixture()
        try await fixture.test { client async throws in
            #expect(try await client.call(.get, path + "?secret=S").status == 200)
            #expect(try await client.call(.put, path, key: "tl_anything").status == 200, "a key is ignored")
            #expect(try await client.call(.put, path + "/credentials", body: #"{"secret":"S"}"#).status == 200)
            #expect(try await client.call(.get, path + "/history").status == 200)
            #expect(try await client.call(.get, "/events").status == 200)
        }
    }
}
