import Foundation
import LedgerTestSupport
import NIOCore
import NIOHTTP1
import PlatformSimulator
import Testing
import TokenLedger

/// PostgreSQL taken away from a running replica, through a proxy that the test cuts (connections
/// reset) or pauses (connections open, no byte moving: a half-open network).
@Suite(.serialized)
struct StoreOutageTests {
    enum Outage: String, CaseIterable, Sendable {
        case cut
        case pause

        func begin(_ proxy: TCPProxy) {
            switch self {
            case .cut: proxy.cut()
            case .pause: proxy.pause()
            }
        }

        func end(_ proxy: TCPProxy) {
            switch self {
            case .cut: proxy.restore()
            case .pause: proxy.resume()
            }
        }
    }

    @Test(.timeLimit(.minutes(3)), arguments: Outage.allCases)
    func cachedTokensSurviveALostLogWritesFailAndRecoveryLosesNothing(_ outage: Outage) async throws {
        let postgres = try TestLogs.postgresURL()
        let components = try #require(URLComponents(string: postgres))
        let proxy = try TCPProxy(to: try #require(components.port))
        var proxied = components
        proxied.port = proxy.port
        let proxiedURL = try #require(proxied.string)
        try await withSimulator { simulator in
            let project = uniqueProject("outage")
            simulator.state.register(appid: "wxout", secret: "s")
            simulator.state.register(appid: "wxnew", secret: "s")
            let replica = try await ServerProcess.start(
                port: try TestEnvironment.freePort(),
                environment: [
                    "EVENTLOG_URL": proxiedURL,
                    "EVENTLOG_TIMEOUT_MS": "1500",
                    "PLATFORMS_WECHAT_BASE_URL": simulator.baseURL,
                    "SECRETS_KEY": TestEnvironment.secretsKey(),
                ],
                name: "outage-\(outage)"
            )
            defer { replica.stop() }
            let path = "/token/\(project)/wechat/wxout"
            var acknowledged: [(path: String, token: String, position: Int64)] = []
            let first = try await HTTP.envelope("GET", replica.baseURL + path + "?secret=s")
            acknowledged.append((path, try #require(first.envelope.data), try Self.position(first.headers)))
            let token = acknowledged[0].token

            outage.begin(proxy)
            // Whatever happens below, the log comes back within 40 s: a paused connection may hold
            // the log's append lock, which would stall every later test on this PostgreSQL.
            let safety = Task {
                try await Task.sleep(for: .seconds(40))
                outage.end(proxy)
            }
            defer {
                safety.cancel()
                outage.end(proxy)
            }
            // Reads of a cached fresh token go on, at once.
            for _ in 0..<20 {
                let started = ContinuousClock.now
                let answer = try await HTTP.envelope("GET", replica.baseURL + path, timeout: .seconds(10))
                #expect(answer.status == 200)
                #expect(answer.envelope.data == token)
                #expect(ContinuousClock.now - started < .seconds(1), "a cached token does not wait for the log")
            }
            // Writes fail with 503, within the log's timeout, and say why.
            let started = ContinuousClock.now
            let put = try await HTTP.envelope("PUT", replica.baseURL + path, timeout: .seconds(15))
            #expect(put.status == 503)
            #expect(put.envelope.errorCode == "store_unavailable")
            #expect(ContinuousClock.now - started < .seconds(10))
            let coldStarted = ContinuousClock.now
            let cold = try await HTTP.envelope("GET", replica.baseURL + "/token/\(project)/wechat/wxnew?secret=s", timeout: .seconds(15))
            #expect(cold.status == 503)
            #expect(ContinuousClock.now - coldStarted < .seconds(5), "a new app waits eventlog.timeout_ms (1.5 s) per query, not minutes")
            let health = try await HTTP.request("GET", replica.baseURL + "/healthz", timeout: .seconds(5))
            #expect(health.0 == 200, "the process stays alive")

            outage.end(proxy)
            var recovered: (status: Int, envelope: HTTP.Envelope, headers: HTTPHeaders)?
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while recovered == nil, ContinuousClock.now < deadline {
                let answer = try await HTTP.envelope("PUT", replica.baseURL + path, timeout: .seconds(15))
                if answer.status == 200 { recovered = answer } else { try await Task.sleep(for: .milliseconds(250)) }
            }
            let refreshed = try #require(recovered, "writes work again once PostgreSQL answers again")
            let newToken = try #require(refreshed.envelope.data)
            #expect(newToken != token)
            acknowledged.append((path, newToken, try Self.position(refreshed.headers)))
            let fresh = try await HTTP.envelope("GET", replica.baseURL + "/token/\(project)/wechat/wxnew?secret=s")
            #expect(fresh.status == 200, "new apps are served without a restart")
            acknowledged.append(("/token/\(project)/wechat/wxnew", try #require(fresh.envelope.data), try Self.position(fresh.headers)))

            try await Self.expectExactly(replica, acknowledged: acknowledged)
        }
    }

    static func position(_ headers: HTTPHeaders) throws -> Int64 {
        try #require(headers.first(name: "X-Ledger-Position").flatMap { Int64($0) })
    }

    /// Nothing lost, exactly: every acknowledged token is recorded at the position it was answered
    /// with, each stream's current token in the log is the one the replica serves, and the
    /// replica's checkpoint is the log's head.
    static func expectExactly(_ replica: ServerProcess, acknowledged: [(path: String, token: String, position: Int64)]) async throws {
        for path in Set(acknowledged.map(\.path)) {
            let (_, body) = try await HTTP.request("GET", replica.baseURL + path + "/history?limit=1000")
            let events = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])["data"] as? [[String: Any]] ?? []
            let issued = events.filter { $0["type"] as? String == "token.issued" }
            for answer in acknowledged where answer.path == path {
                let recorded = issued.first { ($0["position"] as? NSNumber)?.int64Value == answer.position }
                #expect(recorded?["token"] as? String == AuditEntry.mask(answer.token), "\(path): the token answered at \(answer.position) is in the log")
            }
            let served = try await HTTP.envelope("GET", replica.baseURL + path)
            let current = try #require(issued.last, "\(path) has a token in the log")
            #expect(served.envelope.data.map(AuditEntry.mask) == current["token"] as? String, "\(path): the replica serves the log's current token")
            #expect(try Self.position(served.headers) == (current["position"] as? NSNumber)?.int64Value)
        }
        var head: Int64 = 0
        while true {
            let (_, body) = try await HTTP.request("GET", replica.baseURL + "/events?after=\(head)&limit=1000")
            let page = (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["data"] as? [[String: Any]] ?? []
            guard let last = (page.last?["position"] as? NSNumber)?.int64Value else { break }
            head = last
        }
        let (_, ready) = try await HTTP.request("GET", replica.baseURL + "/readyz")
        let checkpoint = (try JSONSerialization.jsonObject(with: Data(ready.utf8)) as? [String: Any])?["data"] as? [String: Any]
        #expect((checkpoint?["checkpoint"] as? NSNumber)?.int64Value == head, "the replica's checkpoint is the log's head: \(ready)")
    }
}
