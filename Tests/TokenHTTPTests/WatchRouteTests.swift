import Foundation
import HTTPTypes
import Hummingbird
import LedgerTestSupport
import Testing
import TokenHTTP
import TokenLedger

/// `GET /token/…/watch` and `GET /events/watch` in-process: the first state, a refresh broadcast,
/// a resume with `Last-Event-ID`, heartbeats, the watcher bound, scopes and bad input as for GET.
@Suite(.timeLimit(.minutes(1))) struct WatchRouteTests {
    let path = "/token/demo/wechat/wxapp"

    /// One message of a `text/event-stream` body.
    struct Message: Equatable {
        var id: String?
        var event: String?
        var data: String?

        var object: [String: Any] { (try? JSONSerialization.jsonObject(with: Data((data ?? "").utf8)) as? [String: Any]) ?? [:] }
    }

    static func messages(_ text: String) -> [Message] {
        text.components(separatedBy: "\n\n").filter { !$0.isEmpty && !$0.hasPrefix(":") }.map { block in
            var message = Message()
            for line in block.split(separator: "\n") {
                if line.hasPrefix("id: ") { message.id = String(line.dropFirst(4)) }
                if line.hasPrefix("event: ") { message.event = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { message.data = String(line.dropFirst(6)) }
            }
            return message
        }
    }

    /// Waits until `count` watchers are open on the fixture's replica.
    static func watchers(_ fixture: HTTPFixture, _ count: Int) async -> Bool {
        await eventually(10) { fixture.ledger.ledger.projector.feed.watchers == count }
    }

    @Test func aWatcherGetsTheTokenThenEachRefresh() async throws {
        let fixture = try HTTPFixture()
        try await fixture.test { client async throws in
            #expect(try await client.call(.get, path + "?secret=S").data == "T1")
            async let watched = client.call(.get, path + "/watch?limit=3")
            #expect(await Self.watchers(fixture, 1))
            _ = try await client.call(.put, path, body: "{}")
            _ = try await client.call(.put, path, body: "{}")
            let answer = try await watched
            #expect(answer.status == 200)
            #expect(answer.header("Content-Type") == "text/event-stream")
            #expect(answer.header("Cache-Control") == "no-cache")
            let messages = Self.messages(answer.text)
            #expect(messages.map(\.event) == ["token", "token", "token"])
            #expect(messages.map { $0.object["token"] as? String } == ["T1", "T2", "T3"])
            #expect(messages.map(\.id) == messages.map { ($0.object["position"] as? Int).map(String.init) }, "id is the log position")
            #expect(messages.first?.object["expires_at"] is Int)
            #expect(fixture.ledger.ledger.projector.feed.watchers == 0, "the slot is freed when the stream ends")
        }
    }

    @Test func aResumeWithLastEventIDGetsExactlyTheMissedChanges() async throws {
        let fixture = try HTTPFixture()
        try await fixture.test { client async throws in
            _ = try await client.call(.get, path + "?secret=S")
            let first = Self.messages(try await client.call(.get, path + "/watch?limit=1").text)
            let seen = try #require(first.first?.id)
            for _ in 0..<3 { _ = try await client.call(.put, path, body: "{}") }
            let resumed = try await client.call(.get, path + "/watch?timeout=1", headers: [HTTPField.Name("Last-Event-ID")!: seen])
            let messages = Self.messages(resumed.text)
            #expect(messages.map { $0.object["token"] as? String } == ["T2", "T3", "T4"])
            // A revocation shows as no_token.
            let stream = try StreamID(project: "demo", platform: "wechat", appid: "wxapp")
            _ = try await fixture.ledger.ledger.credentials.revokeToken(of: stream, reason: "test", context: CallContext())
            let last = try #require(messages.last?.id)
            let revoked = Self.messages(try await client.call(.get, path + "/watch?limit=1", headers: [HTTPField.Name("Last-Event-ID")!: last]).text)
            #expect(revoked.first?.event == "no_token")
        }
    }

    @Test func heartbeatsKeepAQuietStreamAliveUntilItsTimeout() async throws {
        var watch = WatchOptions()
        watch.heartbeat = .milliseconds(100)
        let fixture = try HTTPFixture(watch: watch)
        try await fixture.test { client async throws in
            _ = try await client.call(.get, path + "?secret=S")
            let started = ContinuousClock.now
            let answer = try await client.call(.get, path + "/watch?timeout=1")
            #expect(ContinuousClock.now - started >= .seconds(1))
            #expect(Self.messages(answer.text).count == 1)
            #expect(answer.text.components(separatedBy: ": heartbeat\n\n").count - 1 >= 3)
        }
    }

    @Test func watchersPastTheBoundAreAnswered503() async throws {
        var watch = WatchOptions()
        watch.maxWatchers = 2
        let fixture = try HTTPFixture(watch: watch)
        try await fixture.test { client async throws in
            _ = try await client.call(.get, path + "?secret=S")
            async let first = client.call(.get, path + "/watch?timeout=4")
            async let second = client.call(.get, "/events/watch?timeout=4")
            #expect(await Self.watchers(fixture, 2))
            let refused = try await client.call(.get, path + "/watch?limit=1")
            #expect(refused.outcome == (503, "too_many_watchers"))
            #expect(refused.header("Content-Type") == "application/json; charset=utf-8")
            #expect(try await first.status == 200)
            #expect(try await second.status == 200)
            #expect(try await client.call(.get, path + "/watch?limit=1").status == 200, "free again once they ended")
        }
    }

    @Test func scopesAndBadInputAreAnsweredAsForGet() async throws {
        let keys = try TestKeys()
        let fixture = try HTTPFixture(access: keys.access)
        try await fixture.test { client async throws in
            #expect(try await client.call(.get, path + "?secret=S", key: keys.admin).status == 200)
            let lastEventID = HTTPField.Name("Last-Event-ID")!
            let cases: [(String, String?, HTTPFields, Int, String?)] = [
                (path + "/watch", nil, [:], 401, "unauthenticated"),
                ("/token/other/wechat/wx1/watch", keys.reader, [:], 403, "forbidden"),
                (path + "/watch", keys.demoAdmin, [:], 403, "forbidden"),
                ("/token/demo/wechat/bad%20id/watch", keys.reader, [:], 400, "invalid_input"),
                ("/token/demo/nowhere/wx1/watch", keys.reader, [:], 400, "unknown_platform"),
                ("/token/demo/wechat/nobody/watch", keys.reader, [:], 404, "credentials_missing"),
                (path + "/watch?limit=0", keys.reader, [:], 400, "invalid_input"),
                (path + "/watch?timeout=x", keys.reader, [:], 400, "invalid_input"),
                (path + "/watch", keys.reader, [lastEventID: "-1"], 400, "invalid_input"),
                ("/events/watch", keys.reader, [:], 403, "forbidden"),
                ("/events/watch?project=demo", keys.refresher, [:], 403, "forbidden"),
                ("/events/watch", keys.demoAdmin, [:], 403, "forbidden"),
                ("/events/watch?type=nothing", keys.admin, [:], 400, "invalid_input"),
            ]
            for (uri, key, headers, status, code) in cases {
                let answer = try await client.call(.get, uri, key: key, headers: headers)
                #expect(answer.outcome == (status, code), "\(uri)")
            }
            #expect(try await client.call(.get, path + "/watch?limit=1", key: keys.reader).status == 200)
            #expect(try await client.call(.get, "/events/watch?project=demo&limit=1", key: keys.demoAdmin).status == 200)
        }
    }

    @Test func theEventsFeedStartsAtTheHeadAndMasksTokens() async throws {
        let fixture = try HTTPFixture(platform: FakePlatform(prefix: "token-of-wxapp-long-enough-"))
        try await fixture.test { client async throws in
            _ = try await client.call(.get, path + "?secret=S")
            async let watched = client.call(.get, "/events/watch?type=token.issued&limit=2")
            #expect(await Self.watchers(fixture, 1))
            let token = try #require(try await client.call(.put, path, body: "{}").data)
            let messages = Self.messages(try await watched.text)
            #expect(messages.map(\.event) == ["head", "token.issued"])
            #expect(messages.first?.id == "2" && messages.first?.object["position"] as? Int == 2)
            #expect(messages.last?.id == "3")
            #expect(messages.last?.object["token"] as? String == AuditEntry.mask(token))
            #expect(messages.last?.object["reason"] as? String == "forced")
            // From a position: every event after it, filtered, no head.
            let replay = Self.messages(try await client.call(.get, "/events/watch?after=0&timeout=1").text)
            #expect(replay.map(\.event) == ["credentials.set", "token.issued", "token.issued"])
            #expect(!replay.contains { $0.data?.contains(token) == true }, "never a whole token")
        }
    }
}
