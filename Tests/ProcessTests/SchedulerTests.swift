import LedgerTestSupport
import Foundation
import NIOHTTP1
import PlatformSimulator
import Synchronization
import Testing

/// The scheduler across processes, with short token lives (10 s, early 5 s, a tick a second):
/// several replicas renew every token before anyone sees it go stale, once per renewal, and take
/// over from one that is killed. What one scheduler does (back-off, parking, quotas) is tested
/// in-process by `RefreshSchedulerTests`.
@Suite(.serialized)
struct SchedulerTests {
    static let schedule = [
        "REFRESH_INTERVAL_SECONDS": "1",
        "REFRESH_EARLY_SECONDS": "5",
        "REFRESH_JITTER_SECONDS": "1",
        // The tests' tokens live seconds: let the margin be the full setting, as for WeChat's two hours.
        "REFRESH_MAX_EARLY_FRACTION": "0.9",
    ]

    @Test(.timeLimit(.minutes(2)))
    func replicasRenewEveryTokenBeforeItGoesStaleWithOneCallPerRenewal() async throws {
        try await withSimulator { simulator in
            let postgres = try TestLogs.postgresURL()
            let key = TestEnvironment.secretsKey()
            let project = uniqueProject("sched")
            let apps = ["wxs1", "wxs2", "wxs3"]
            for app in apps { simulator.state.register(appid: app, secret: "s", expiresIn: 10) }
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
            while ContinuousClock.now - started < .seconds(15) {
                if !killed, ContinuousClock.now - started > .seconds(5) {
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
                    #expect(received < expiresAt - 5 + 1, "never served past expires_at - early_seconds")
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
                // Renewed about every 3.5 s: at least twice in 15 s, once by the survivors of the kill at 5 s.
                #expect(issued >= 3, "\(app) renewed several times in 15 s")
                #expect(simulator.state.calls(appid: app) == issued, "\(app): one upstream call per renewal")
                #expect(scheduled == issued - 1, "\(app): readers never had to refresh; the scheduler did")
                #expect(seen[app, default: []].count >= issued - 1)
            }
        }
    }
}
