import LedgerTestSupport
import Foundation
import NIOHTTP1
import PlatformSimulator
import Synchronization
import Testing

/// The scheduler with short token lives (20 s, early 10 s, a tick a second): tokens are renewed
/// before anyone sees them go stale, once per renewal, across replicas, and failures back off.
@Suite(.serialized)
struct SchedulerTests {
    static let schedule = [
        "REFRESH_INTERVAL_SECONDS": "1",
        "REFRESH_EARLY_SECONDS": "10",
        "REFRESH_JITTER_SECONDS": "1",
        // The tests' tokens live seconds: let the margin be the full setting, as for WeChat's two hours.
        "REFRESH_MAX_EARLY_FRACTION": "0.9",
    ]

    @Test(.timeLimit(.minutes(3)))
    func replicasRenewEveryTokenBeforeItGoesStaleWithOneCallPerRenewal() async throws {
        try await withSimulator { simulator in
            let postgres = try TestEnvironment.required("TOKENLEDGER_TEST_POSTGRES_URL")
            let key = TestEnvironment.secretsKey()
            let project = uniqueProject("sched")
            let apps = ["wxs1", "wxs2", "wxs3"]
            for app in apps { simulator.state.register(appid: app, secret: "s", expiresIn: 20) }
            var environment = Self.schedule
            environment["EVENTLOG_URL"] = postgres
            environment["SECRETS_KEY"] = key
            environment["PLATFORMS_WECHAT_BASE_URL"] = simulator.baseURL
            var replicas: [ServerProcess] = []
            for index in 0..<3 {
                replicas.append(try await ServerProcess.start(port: try TestEnvironment.freePort(), environment: environment, name: "sched\(index)"))
            }
            defer { replicas.forEach { $0.stop() } }
            for app in apps {
                #expect(try await HTTP.envelope("GET", replicas[0].baseURL + "/token/\(project)/wechat/\(app)?secret=s").status == 200)
            }
            var seen: [String: Set<String>] = [:]
            let started = ContinuousClock.now
            var round = 0
            var killed = false
            while ContinuousClock.now - started < .seconds(45) {
                if !killed, ContinuousClock.now - started > .seconds(15) {
                    replicas[0].kill()  // the others pick up its due streams
                    killed = true
                }
                let replica = replicas[killed ? 1 + round % 2 : round % 3]
                for app in apps {
                    let answer = try await HTTP.envelope("GET", replica.baseURL + "/token/\(project)/wechat/\(app)")
                    let received = Date().timeIntervalSince1970
                    #expect(answer.status == 200)
                    let token = try #require(answer.envelope.data)
                    let expiresAt = try #require(answer.headers.first(name: "X-Token-Expires-At").flatMap(Double.init))
                    #expect(received < expiresAt - 10 + 1, "never served past expires_at - early_seconds")
                    #expect(simulator.state.isValid(token: token))
                    #expect(answer.headers.first(name: "X-Token-Stale") == nil)
                    seen[app, default: []].insert(token)
                }
                round += 1
                try await Task.sleep(for: .milliseconds(200))
            }
            for app in apps {
                let (_, history) = try await HTTP.request("GET", replicas[1].baseURL + "/token/\(project)/wechat/\(app)/history?limit=1000")
                let issued = history.components(separatedBy: "\"type\":\"token.issued\"").count - 1
                let scheduled = history.components(separatedBy: "\"reason\":\"scheduled\"").count - 1
                #expect(issued >= 4, "\(app) renewed several times in 45 s")
                #expect(simulator.state.calls(appid: app) == issued, "\(app): one upstream call per renewal")
                #expect(scheduled == issued - 1, "\(app): readers never had to refresh; the scheduler did")
                #expect(seen[app, default: []].count >= issued - 1)
            }
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aBusyPlatformIsRetriedWithGrowingBackOffWhileTheValidTokenIsServed() async throws {
        try await withSimulator { simulator in
            simulator.state.register(appid: "wxbusy", secret: "s", expiresIn: 45)
            let service = try await EmbeddedServer.start(simulator: simulator, extra: Self.schedule.merging(["REFRESH_EARLY_SECONDS": "35"]) { $1 })
            defer { service.server.stop() }
            let path = "/token/demo/wechat/wxbusy"
            let token = try #require(try await HTTP.envelope("GET", service.url(path + "?secret=s")).envelope.data)
            simulator.state.setBehaviour(.busy, for: "wxbusy")
            try await Task.sleep(for: .seconds(29))
            let (_, history) = try await HTTP.request("GET", service.url(path + "/history"))
            let answer = try await HTTP.envelope("GET", service.url(path))
            #expect(answer.envelope.data == token, "the still-valid token is served")
            #expect(answer.headers.first(name: "X-Token-Stale") == "true")
            let failures = try Self.failureTimes(history)
            #expect(failures.count >= 3 && failures.count <= 5, "back-off, not a call per tick: \(failures.count)")
            let gaps = zip(failures.dropFirst(), failures).map { $0 - $1 }
            #expect(gaps.count >= 2 && gaps[1] > gaps[0], "the back-off grows: \(gaps)")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func rejectedCredentialsStopTheScheduleUntilANewSecretArrives() async throws {
        try await withSimulator { simulator in
            simulator.state.register(appid: "wxrej", secret: "old", expiresIn: 20)
            let service = try await EmbeddedServer.start(simulator: simulator, extra: Self.schedule)
            defer { service.server.stop() }
            let path = "/token/demo/wechat/wxrej"
            _ = try #require(try await HTTP.envelope("GET", service.url(path + "?secret=old")).envelope.data)
            simulator.state.register(appid: "wxrej", secret: "new", expiresIn: 20)  // rotated on the platform's side
            try await Task.sleep(for: .seconds(14))
            let callsWhileParked = simulator.state.calls(appid: "wxrej")
            #expect(callsWhileParked == 2, "one rejected scheduled call, then nothing")
            try await Task.sleep(for: .seconds(3))
            #expect(simulator.state.calls(appid: "wxrej") == callsWhileParked)
            let (_, metrics) = try await HTTP.request("GET", service.url("/metrics"))
            #expect(metrics.contains("tokenledger_scheduler_parked_streams 1"), "parking shows in the metrics")
            // The new secret resumes it.
            let renewed = try await HTTP.envelope("GET", service.url(path + "?secret=new"))
            #expect(renewed.status == 200)
            try await Task.sleep(for: .seconds(14))
            let (_, history) = try await HTTP.request("GET", service.url(path + "/history"))
            #expect(history.contains("upstream_rejected_credentials"))
            #expect(history.contains("\"reason\":\"scheduled\""))
            #expect(simulator.state.calls(appid: "wxrej") > callsWhileParked + 1, "scheduled renewals resumed")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func anExhaustedQuotaStopsScheduledCallsUntilTheQuotaDayTurns() async throws {
        try await withSimulator { simulator in
            simulator.state.register(appid: "wxquota", secret: "s", expiresIn: 20)
            let service = try await EmbeddedServer.start(simulator: simulator, extra: Self.schedule)
            defer { service.server.stop() }
            _ = try #require(try await HTTP.envelope("GET", service.url("/token/demo/wechat/wxquota?secret=s")).envelope.data)
            simulator.state.setBehaviour(.quotaExhausted, for: "wxquota")
            try await Task.sleep(for: .seconds(16))
            #expect(simulator.state.calls(appid: "wxquota") == 2, "one scheduled call met the quota, then none")
            let (_, history) = try await HTTP.request("GET", service.url("/token/demo/wechat/wxquota/history"))
            #expect(history.contains("upstream_quota_exhausted"))
        }
    }

    /// The recorded times (seconds) of the stream's failed refreshes.
    static func failureTimes(_ history: String) throws -> [Double] {
        struct Page: Decodable {
            struct Entry: Decodable {
                let type: String
                let recorded_at: String
            }
            let data: [Entry]
        }
        let page = try JSONDecoder().decode(Page.self, from: Data(history.utf8))
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return page.data.filter { $0.type == "token.refresh_failed" }.compactMap { formatter.date(from: $0.recorded_at)?.timeIntervalSince1970 }
    }
}
