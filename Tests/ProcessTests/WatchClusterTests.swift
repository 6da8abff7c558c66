import AsyncHTTPClient
import Foundation
import LedgerTestSupport
import NIOCore
import NIOHTTP1
import PlatformSimulator
import Testing

/// Watches across `tokenledger serve` processes on one PostgreSQL: a watcher on one replica sees
/// a refresh made on another, a resume with `Last-Event-ID` gets exactly the missed refreshes,
/// scopes as for GET, 503 past `watch.max_watchers`, and SIGTERM ends open watches at once.
@Suite(.serialized)
struct WatchClusterTests {
    /// An open `text/event-stream` answer, read as it arrives.
    final class EventSource: @unchecked Sendable {
        // @unchecked: used by the one test task that opened it, sequentially.
        let status: Int
        private var body: HTTPClientResponse.Body.AsyncIterator
        private(set) var text = ""
        private(set) var ended = false

        init(_ url: String, key: String, headers: [String: String] = [:]) async throws {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Authorization", value: "Bearer \(key)")
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
            status = Int(response.status.code)
            body = response.body.makeAsyncIterator()
        }

        /// The messages (`event`, `data`) received so far, heartbeats left out.
        var messages: [(id: String, event: String, data: String)] {
            text.components(separatedBy: "\n\n").compactMap { block in
                var id = "", event = "", data = ""
                for line in block.split(separator: "\n") {
                    if line.hasPrefix("id: ") { id = String(line.dropFirst(4)) }
                    if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
                    if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
                }
                return event.isEmpty ? nil : (id, event, data)
            }
        }

        /// Reads until `count` messages arrived or the stream ended.
        func read(until count: Int) async throws {
            while messages.count < count, !ended {
                guard let chunk = try await body.next() else {
                    ended = true
                    return
                }
                text += String(buffer: chunk)
            }
        }

        /// Reads until the stream ends.
        func readToEnd() async throws {
            try await read(until: Int.max)
        }
    }

    static func token(_ data: String) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any])?["token"] as? String
    }

    @Test(.timeLimit(.minutes(3)))
    func aWatcherOnOneReplicaSeesRefreshesMadeOnAnotherAndMissesNoneAcrossAReconnect() async throws {
        try await withSimulator { simulator in
            let project = uniqueProject("watch")
            simulator.state.register(appid: "wxwatch", secret: "S")
            let (reader, readerEntry) = try AccessControlTests.newKey("reader", scopes: ["read"], projects: [project])
            let (stranger, strangerEntry) = try AccessControlTests.newKey("stranger", scopes: ["read"], projects: ["elsewhere"])
            let (admin, adminEntry) = try AccessControlTests.newKey("ops", scopes: ["read", "refresh", "admin"], projects: [])
            let replicas = try await ClusterTests.startReplicas(
                2, simulator: simulator, key: TestEnvironment.secretsKey(),
                environment: ["AUTH_MODE": "keys", "AUTH_KEYS": [readerEntry, strangerEntry, adminEntry].joined(separator: ",")], names: "watch"
            )
            defer { replicas.forEach { $0.stop() } }
            let path = "/token/\(project)/wechat/wxwatch"
            let adminHeaders = ["Authorization": "Bearer \(admin)"]
            let first = try await HTTP.envelope("GET", replicas[1].baseURL + path + "?secret=S", headers: adminHeaders)
            #expect(first.status == 200)

            // Scopes as for GET: a read key of another project is refused, before any stream.
            let refused = try await HTTP.envelope("GET", replicas[0].baseURL + path + "/watch", headers: ["Authorization": "Bearer \(stranger)"])
            #expect(refused.status == 403 && refused.envelope.errorCode == "forbidden")

            // A watcher on replica 0 gets the token, then a refresh made on replica 1.
            let watcher = try await EventSource(replicas[0].baseURL + path + "/watch", key: reader)
            #expect(watcher.status == 200)
            try await watcher.read(until: 1)
            #expect(watcher.messages.first.map { Self.token($0.data) } == first.envelope.data)
            let refreshed = try await HTTP.envelope("PUT", replicas[1].baseURL + path, body: "{}", headers: adminHeaders)
            try await watcher.read(until: 2)
            #expect(watcher.messages.map(\.event) == ["token", "token"])
            #expect(watcher.messages.last.map { Self.token($0.data) } == refreshed.envelope.data)
            let seen = try #require(watcher.messages.last?.id)

            // It disconnects; three refreshes on replica 1; it reconnects with Last-Event-ID.
            var missed: [String?] = []
            for _ in 0..<3 {
                missed.append(try await HTTP.envelope("PUT", replicas[1].baseURL + path, body: "{}", headers: adminHeaders).envelope.data)
            }
            let resumed = try await EventSource(replicas[0].baseURL + path + "/watch?timeout=3", key: reader, headers: ["Last-Event-ID": seen])
            try await resumed.readToEnd()
            #expect(resumed.messages.map(\.event) == ["token", "token", "token"], "exactly the three missed refreshes")
            #expect(resumed.messages.map { Self.token($0.data) } == missed)
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func watchersPastTheBoundAre503AndSigtermEndsOpenWatchesPromptly() async throws {
        try await withSimulator { simulator in
            let project = uniqueProject("watchstop")
            simulator.state.register(appid: "wxstop", secret: "S")
            let replicas = try await ClusterTests.startReplicas(
                1, simulator: simulator, key: TestEnvironment.secretsKey(),
                environment: ["AUTH_MODE": "none", "WATCH_MAX_WATCHERS": "2"], names: "watchstop"
            )
            let replica = replicas[0]
            defer { replica.stop() }
            let path = replica.baseURL + "/token/\(project)/wechat/wxstop"
            #expect(try await HTTP.envelope("GET", path + "?secret=S").status == 200)
            let token = try await EventSource(path + "/watch", key: "none")
            try await token.read(until: 1)
            let feed = try await EventSource(replica.baseURL + "/events/watch", key: "none")
            try await feed.read(until: 1)
            #expect(feed.messages.first?.event == "head")
            let refused = try await HTTP.envelope("GET", path + "/watch")
            #expect(refused.status == 503 && refused.envelope.errorCode == "too_many_watchers")

            let started = ContinuousClock.now
            let status = replica.stop()
            #expect(status == 0, "SIGTERM with open watches exits 0: \(replica.log().suffix(2000))")
            #expect(ContinuousClock.now - started < .seconds(5), "graceful shutdown does not wait for open streams")
            try await token.readToEnd()
            try await feed.readToEnd()
            #expect(token.ended && feed.ended, "both streams were ended by the server")
        }
    }
}
