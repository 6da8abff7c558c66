import Foundation
import LedgerTestSupport
import NIOHTTP1
import PlatformSimulator
import Testing

/// Quota budgets across three `tokenledger serve` processes on one PostgreSQL: the count is the
/// log's, so every replica refuses the same forced refresh, and a restarted one counts the same.
@Suite(.serialized)
struct BudgetClusterTests {
    /// `data.budget` of `GET …/status` on `replica`: (calls used, forced used, forced limit).
    static func budget(_ replica: ServerProcess, _ path: String) async throws -> (Int?, Int?, Int?) {
        let (status, text) = try await HTTP.request("GET", replica.baseURL + path + "/status")
        #expect(status == 200, "\(text)")
        let envelope = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let budget = (envelope?["data"] as? [String: Any])?["budget"] as? [String: Any]
        let calls = budget?["calls"] as? [String: Any]
        let forced = budget?["forced"] as? [String: Any]
        return (calls?["used"] as? Int, forced?["used"] as? Int, forced?["limit"] as? Int)
    }

    /// How many budget refusals the stream's history holds.
    static func refusals(_ replica: ServerProcess, _ path: String) async throws -> Int {
        let (_, text) = try await HTTP.request("GET", replica.baseURL + path + "/history?limit=1000")
        return text.components(separatedBy: "quota_budget_exhausted").count - 1
    }

    @Test(.timeLimit(.minutes(3)))
    func forcedRefreshesBeyondTheBudgetAreRefusedOnEveryReplicaAndAfterARestart() async throws {
        try await withSimulator { simulator in
            let project = uniqueProject("budget")
            simulator.state.register(appid: "wxbudget", secret: "S7")
            let key = TestEnvironment.secretsKey()
            let environment = ["PLATFORMS_WECHAT_FORCED_DAILY_BUDGET": "3"]
            var replicas = try await ClusterTests.startReplicas(3, simulator: simulator, key: key, environment: environment)
            defer { replicas.forEach { $0.stop() } }
            let path = "/token/\(project)/wechat/wxbudget"
            // Classic tokens: one request per refresh, so the simulator's count is the log's.
            let (registered, _) = try await HTTP.request("PUT", replicas[0].baseURL + path + "/credentials", body: #"{"secret":"S7","options":{"mode":"classic"}}"#)
            #expect(registered == 200)
            #expect(try await HTTP.envelope("GET", replicas[0].baseURL + path).status == 200)

            // Nine forced refreshes round-robin, each after the last one seen (a replica that has not
            // seen it yet would take it for its own): three go through, then every replica refuses.
            var outcomes: [(Int, String?)] = []
            var seen = "0"
            for index in 0..<9 {
                let answer = try await HTTP.envelope("PUT", replicas[index % 3].baseURL + path, headers: ["X-Ledger-Min-Position": seen])
                outcomes.append((answer.status, answer.envelope.errorCode))
                seen = answer.headers.first(name: "X-Ledger-Position") ?? seen
            }
            #expect(outcomes.prefix(3).allSatisfy { $0.0 == 200 })
            #expect(outcomes.dropFirst(3).allSatisfy { $0 == (429, "quota_budget_exhausted") }, "\(outcomes)")
            // A burst on every replica at once changes nothing.
            let burst = try await ClusterTests.fanOut(30, "PUT", replicas.map { $0.baseURL + path })
            #expect(burst.allSatisfy { $0.0 == 429 })
            #expect(simulator.state.calls(appid: "wxbudget") == 1 + 3, "the first read, then exactly the budget")
            #expect(try await Self.refusals(replicas[0], path) >= 6)

            // Reads and compare-and-refresh still reach the platform.
            let current = try #require(try await HTTP.envelope("GET", replicas[2].baseURL + path).envelope.data)
            #expect(try await HTTP.envelope("PUT", replicas[2].baseURL + path, body: #"{"nowToken":"\#(current)"}"#).status == 200)
            #expect(simulator.state.calls(appid: "wxbudget") == 5)
            for replica in replicas {
                #expect(try await eventually(5) { try await Self.budget(replica, path) == (5, 3, 3) }, "\(replica.baseURL)")
            }

            // A restarted replica folds the same count from the log and refuses as the others do.
            replicas[1].stop()
            let restarted = try await ClusterTests.startReplicas(1, simulator: simulator, key: key, environment: environment, names: "restarted")
            replicas[1] = restarted[0]
            #expect(try await Self.budget(replicas[1], path) == (5, 3, 3))
            let refused = try await HTTP.envelope("PUT", replicas[1].baseURL + path)
            #expect((refused.status, refused.envelope.errorCode) == (429, "quota_budget_exhausted"))
            #expect(simulator.state.calls(appid: "wxbudget") == 5)
            // The gauge counts this app among those past 80 % of their forced budget (no per-app label).
            let (_, metrics) = try await HTTP.request("GET", replicas[1].baseURL + "/metrics")
            let gauge = metrics.split(separator: "\n").first { 
                $0.hasPrefix("tokenledger_budget_nearly_spent_apps") && $0.contains(#"platform="wechat""#) && $0.contains(#"budget="forced""#)
            }
            let apps: Double? = gauge.flatMap { line in line.split(separator: " ").last.flatMap { Double($0) } }
            #expect((apps ?? 0) >= 1, "\(gauge.map(String.init) ?? "no gauge")")
        }
    }
}
