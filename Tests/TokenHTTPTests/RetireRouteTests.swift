import Foundation
import HTTPTypes
import LedgerTestSupport
import Testing
import TokenHTTP
import TokenLedger

/// `DELETE /token/…` (revoke the token) and `DELETE /token/…/credentials` (remove the app):
/// admin only, one event each, no platform call, and nothing changed for anyone else.
struct RetireRouteTests {
    let path = "/token/demo/wechat/wx1"

    func data(_ answer: HTTPFixture.Answer) throws -> [String: Any] {
        let envelope = try #require(try JSONSerialization.jsonObject(with: Data(answer.text.utf8)) as? [String: Any])
        return try #require(envelope["data"] as? [String: Any])
    }

    @Test func revokingAppendsOneEventCallsNoPlatformAndTheNextReadFetchesOnce() async throws {
        let fixture = try HTTPFixture(platform: FakePlatform(prefix: "token-"))
        try await fixture.test { client async throws in
            let first = try #require(try await client.call(.get, path + "?secret=S").data)
            let before = try await fixture.events().count
            let revoked = try await client.call(.delete, path + "?reason=leaked%20in%20a%20log")
            #expect(revoked.status == 200)
            let body = try data(revoked)
            #expect(body["stream"] as? String == "demo/wechat/wx1" && body["changed"] as? Bool == true)
            let position = try #require(body["position"] as? String)
            #expect(revoked.header("X-Ledger-Position") == position)
            let events = try await fixture.events()
            #expect(events.count == before + 1)
            #expect(events.last?.type == .tokenRevoked && String(events.last?.position ?? 0) == position)
            let recorded = String(decoding: events.last?.data ?? Data(), as: UTF8.self)
            #expect(recorded.contains("leaked in a log"))
            #expect(fixture.platform.calls == 1)

            // The revoked token is never served again: the next read fetches one new token.
            let next = try #require(try await client.call(.get, path).data)
            #expect(next != first && fixture.platform.calls == 2)
            #expect(try await client.call(.get, path).data == next && fixture.platform.calls == 2)
        }
    }

    @Test func revokingTwiceChangesNothingTheSecondTime() async throws {
        let fixture = try HTTPFixture()
        try await fixture.test { client async throws in
            _ = try await client.call(.put, path + "/credentials", body: #"{"secret":"S"}"#)
            // No token yet: nothing to revoke.
            let nothing = try await client.call(.delete, path)
            let unchanged = try data(nothing)
            #expect(nothing.status == 200 && unchanged["changed"] as? Bool == false)
            #expect(nothing.header("X-Ledger-Position") == nil && unchanged["position"] == nil)
            _ = try await client.call(.get, path)
            #expect((try data(try await client.call(.delete, path)))["changed"] as? Bool == true)
            let count = try await fixture.events().count
            #expect((try data(try await client.call(.delete, path)))["changed"] as? Bool == false)
            #expect(try await fixture.events().count == count)
        }
    }

    @Test func aRemovedAppServesNothingAndCallsNothingUntilASecretIsSetAgain() async throws {
        let fixture = try HTTPFixture()
        try await fixture.test { client async throws in
            _ = try await client.call(.get, path + "?secret=S")
            let removed = try await client.call(.delete, path + "/credentials")
            #expect(removed.status == 200)
            #expect(try data(removed)["changed"] as? Bool == true)
            #expect(try await fixture.events().last?.type == .credentialsRemoved)
            let calls = fixture.platform.calls
            #expect(try await client.call(.get, path).outcome == (404, "app_removed"))
            #expect(try await client.call(.put, path, body: "{}").outcome == (404, "app_removed"))
            #expect(fixture.platform.calls == calls)
            // Removing again changes nothing; setting a secret brings the app back.
            let count = try await fixture.events().count
            #expect((try data(try await client.call(.delete, path + "/credentials")))["changed"] as? Bool == false)
            #expect(try await fixture.events().count == count)
            #expect(try await client.call(.put, path + "/credentials", body: #"{"secret":"S"}"#).status == 200)
            #expect(try await client.call(.get, path).status == 200)
        }
    }

    @Test func onlyAnAdminOfTheProjectMayRevokeOrRemove() async throws {
        let keys = try TestKeys()
        let fixture = try HTTPFixture(access: keys.access)
        try await fixture.test { client async throws in
            _ = try await client.call(.get, path + "?secret=S", key: keys.admin)
            let count = try await fixture.events().count
            for route in [path, path + "/credentials"] {
                #expect(try await client.call(.delete, route).outcome == (401, "unauthenticated"))
                #expect(try await client.call(.delete, route, key: keys.reader).outcome == (403, "forbidden"))
                #expect(try await client.call(.delete, route, key: keys.refresher).outcome == (403, "forbidden"))
                #expect(try await client.call(.delete, "/token/other/wechat/wx1", key: keys.demoAdmin).outcome == (403, "forbidden"))
            }
            #expect(try await fixture.events().count == count)
            #expect(try await client.call(.delete, path, key: keys.demoAdmin).status == 200)
            #expect(try await client.call(.delete, path + "/credentials", key: keys.demoAdmin).status == 200)
        }
    }

    @Test func badIdsAndUnknownAppsAreRefusedAndChangeNothing() async throws {
        let fixture = try HTTPFixture()
        try await fixture.test { client async throws in
            #expect(try await client.call(.delete, "/token/demo/nowhere/wx1").outcome == (400, "unknown_platform"))
            #expect(try await client.call(.delete, "/token/de%2Fmo/wechat/wx1/credentials").outcome == (400, "invalid_input"))
            #expect(try await client.call(.delete, "/token/demo/wechat/nobody").outcome == (404, "credentials_missing"))
            #expect(try await client.call(.delete, "/token/demo/wechat/nobody/credentials").outcome == (404, "credentials_missing"))
            #expect(try await fixture.events().isEmpty)
            #expect(fixture.platform.calls == 0)
        }
    }
}
