import LedgerTestSupport
import Foundation
import NIOHTTP1
import PlatformSimulator
import Testing

/// Several `tokenledger serve` processes against one PostgreSQL and the simulator: the property
/// users come for is one upstream call per refresh, whatever the number of replicas and readers.
@Suite(.serialized)
struct ClusterTests {
    static func startReplicas(
        _ count: Int, simulator: RunningSimulator, key: String, environment extra: [String: String] = [:], names: String = "replica"
    ) async throws -> [ServerProcess] {
        let postgres = try TestLogs.postgresURL()
        var replicas: [ServerProcess] = []
        for index in 0..<count {
            replicas.append(
                try await ServerProcess.start(
                    port: try TestEnvironment.freePort(),
                    environment: [
                        "EVENTLOG_URL": postgres,
                        "PLATFORMS_WECHAT_BASE_URL": simulator.baseURL,
                        "SECRETS_KEY": key,
                        "EVENTLOG_POLL_INTERVAL_MS": "5000",
                    ].merging(extra) { $1 },
                    name: "\(names)\(index)"
                )
            )
        }
        return replicas
    }

    /// `count` concurrent requests spread round-robin over `urls`: (status, data) of each.
    static func fanOut(
        _ count: Int, _ method: String, _ urls: [String], body: String? = nil, headers: [String: String] = [:]
    ) async throws -> [(Int, String?)] {
        try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            for index in 0..<count {
                let url = urls[index % urls.count]
                group.addTask {
                    let (status, envelope, _) = try await HTTP.envelope(method, url, body: body, headers: headers)
                    return (status, envelope.data)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    /// The dashboard's cluster page lists the replicas connected to PostgreSQL now (their
    /// connections carry their node names) beside those seen in the log's recent events.
    @Test(.timeLimit(.minutes(3)))
    func theClusterPageListsTheReplicasConnectedNow() async throws {
        try await withSimulator { simulator in
            let project = uniqueProject("presence")
            simulator.state.register(appid: "wxseen", secret: "S1")
            let replicas = try await Self.startReplicas(2, simulator: simulator, key: TestEnvironment.secretsKey(), names: project)
            defer { replicas.forEach { $0.stop() } }
            let nodes = [project + "0", project + "1"]
            // The second replica fetches a token: its name is in the log too.
            #expect(try await HTTP.envelope("GET", replicas[1].baseURL + "/token/\(project)/wechat/wxseen?secret=S1").status == 200)
            func row(_ node: String) async throws -> String? {
                let (status, html) = try await HTTP.request("GET", replicas[0].baseURL + "/ui/cluster")
                #expect(status == 200)
                guard let start = html.range(of: "data-replica=\"\(node)\"") else { return nil }
                return String(html[start.upperBound...].prefix { $0 != "\n" }.split(separator: "</tr>").first ?? "")
            }
            #expect(try await row(nodes[0])?.contains("<td>yes,") == true, "this replica is connected")
            #expect(try await eventually(5) { try await row(nodes[1])?.contains("<td>yes,") == true }, "the other replica is connected")
            replicas[1].stop()
            // Gone from PostgreSQL, still in the log's recent events.
            #expect(try await eventually(10) { try await row(nodes[1])?.contains("<td>no</td>") == true })
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func coldReadsAcrossReplicasCallThePlatformOnce() async throws {
        try await withSimulator { simulator in
            let project = uniqueProject("cold")
            simulator.state.register(appid: "wxcold", secret: "S1")
            simulator.state.setBehaviour(.slow(milliseconds: 300), for: "wxcold")
            let replicas = try await Self.startReplicas(3, simulator: simulator, key: TestEnvironment.secretsKey())
            defer { replicas.forEach { $0.stop() } }
            let results = try await Self.fanOut(300, "GET", replicas.map { "\($0.baseURL)/token/\(project)/wechat/wxcold?secret=S1" })
            #expect(results.count == 300)
            #expect(results.allSatisfy { $0.0 == 200 })
            let tokens = Set(results.compactMap(\.1))
            #expect(tokens.count == 1, "every reader gets the same token")
            #expect(simulator.state.calls(appid: "wxcold") == 1, "one upstream call for 300 cold readers on 3 replicas")
            #expect(tokens.first.map { simulator.state.isValid(token: $0) } == true)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func concurrentCompareAndRefreshRefreshesOnce() async throws {
        try await withSimulator { simulator in
            let project = uniqueProject("cas")
            simulator.state.register(appid: "wxcas", secret: "S2")
            let replicas = try await Self.startReplicas(3, simulator: simulator, key: TestEnvironment.secretsKey())
            defer { replicas.forEach { $0.stop() } }
            let path = "/token/\(project)/wechat/wxcas"
            let first = try await HTTP.envelope("GET", replicas[0].baseURL + path + "?secret=S2")
            let old = try #require(first.envelope.data)
            #expect(simulator.state.calls(appid: "wxcas") == 1)
            // The callers read their writes on every replica (as a client passes what it saw).
            let seen = ["X-Ledger-Min-Position": try #require(first.headers.first(name: "X-Ledger-Position"))]
            simulator.state.setBehaviour(.slow(milliseconds: 200), for: "wxcas")
            let results = try await Self.fanOut(50, "PUT", replicas.map { $0.baseURL + path }, body: "{\"nowToken\":\"\(old)\"}", headers: seen)
            #expect(results.allSatisfy { $0.0 == 200 })
            let tokens = Set(results.compactMap(\.1))
            #expect(tokens.count == 1, "every caller gets the one new token")
            #expect(tokens.first != old)
            // Stable mode asks once without force_refresh (the platform may have rotated already),
            // then forces because it handed back the reported token: one refresh, two requests.
            #expect(simulator.state.calls(appid: "wxcas") == 3)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func concurrentCompareAndRefreshOfAClassicTokenCallsThePlatformOnce() async throws {
        try await withSimulator { simulator in
            let project = uniqueProject("casc")
            simulator.state.register(appid: "wxclassic", secret: "S5")
            let replicas = try await Self.startReplicas(3, simulator: simulator, key: TestEnvironment.secretsKey())
            defer { replicas.forEach { $0.stop() } }
            let path = "/token/\(project)/wechat/wxclassic"
            let set = try await HTTP.envelope("PUT", replicas[1].baseURL + path + "/credentials", body: #"{"secret":"S5","options":{"mode":"classic"}}"#)
            #expect(set.status == 200)
            // Read your writes on the other replicas: they catch up to the credentials' position first.
            let seen = ["X-Ledger-Min-Position": try #require(set.headers.first(name: "X-Ledger-Position"))]
            let old = try #require(try await HTTP.envelope("GET", replicas[0].baseURL + path, headers: seen).envelope.data)
            simulator.state.setBehaviour(.slow(milliseconds: 200), for: "wxclassic")
            let results = try await Self.fanOut(50, "PUT", replicas.map { $0.baseURL + path }, body: "{\"nowToken\":\"\(old)\"}", headers: seen)
            #expect(results.allSatisfy { $0.0 == 200 })
            let tokens = Set(results.compactMap(\.1))
            #expect(tokens.count == 1 && tokens.first != old)
            #expect(simulator.state.calls(appid: "wxclassic") == 2, "the first fetch, then exactly one for 50 compare-and-refreshes")
            #expect(simulator.state.requests().allSatisfy { $0.appid != "wxclassic" || $0.endpoint == "GET /cgi-bin/token" })
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func refreshOnOneReplicaIsSeenByTheOthersWithinASecond() async throws {
        try await withSimulator { simulator in
            let project = uniqueProject("seen")
            simulator.state.register(appid: "wxseen", secret: "S3")
            let key = TestEnvironment.secretsKey()
            let replicas = try await Self.startReplicas(3, simulator: simulator, key: key)
            defer { replicas.forEach { $0.stop() } }
            let path = "/token/\(project)/wechat/wxseen"
            let first = try await HTTP.envelope("GET", replicas[0].baseURL + path + "?secret=S3")
            let old = try #require(first.envelope.data)
            let registered = ["X-Ledger-Min-Position": try #require(first.headers.first(name: "X-Ledger-Position"))]
            for replica in replicas.dropFirst() {
                #expect(try await HTTP.envelope("GET", replica.baseURL + path, headers: registered).envelope.data == old)
            }
            let put = try await HTTP.envelope("PUT", replicas[0].baseURL + path)
            let new = try #require(put.envelope.data)
            #expect(new != old)
            let position = try #require(put.headers.first(name: "X-Ledger-Position"))
            // Read your writes: a caller that passes the position it saw gets the new token at once.
            let pinned = try await HTTP.envelope("GET", replicas[1].baseURL + path, headers: ["X-Ledger-Min-Position": position])
            #expect(pinned.envelope.data == new)
            // Without the header, NOTIFY brings it within a second.
            let started = ContinuousClock.now
            var seen = false
            while ContinuousClock.now - started < .seconds(1) {
                if try await HTTP.envelope("GET", replicas[2].baseURL + path).envelope.data == new {
                    seen = true
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(seen, "replica 2 serves the new token within a second")
            // The command reads the same history from PostgreSQL.
            let history = try Command.run(
                ["history", project, "wechat", "wxseen"], folder: NSTemporaryDirectory(),
                environment: ["EVENTLOG_URL": try TestLogs.postgresURL(), "SECRETS_KEY": key]
            )
            #expect(history.status == 0, "\(history.output)")
            #expect(history.output.contains("reason=forced"))
            #expect(simulator.state.calls(appid: "wxseen") == 3)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func replicaKilledMidRefreshDoesNotBlockTheStream() async throws {
        try await withSimulator { simulator in
            let project = uniqueProject("kill")
            simulator.state.register(appid: "wxkill", secret: "S4")
            simulator.state.setBehaviour(.slow(milliseconds: 4000), for: "wxkill")
            let replicas = try await Self.startReplicas(2, simulator: simulator, key: TestEnvironment.secretsKey())
            defer { replicas.forEach { $0.stop() } }
            let path = "/token/\(project)/wechat/wxkill?secret=S4"
            let doomed = Task { try? await HTTP.request("GET", replicas[0].baseURL + path) }
            // Wait until the doomed replica is inside its platform call, holding the stream's lock.
            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
            while simulator.state.calls(appid: "wxkill") == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(simulator.state.calls(appid: "wxkill") == 1)
            replicas[0].kill()
            _ = await doomed.value
            simulator.state.setBehaviour(.normal, for: "wxkill")
            let started = ContinuousClock.now
            let survivor = try await HTTP.envelope("GET", replicas[1].baseURL + path)
            #expect(survivor.status == 200)
            #expect(ContinuousClock.now - started < .seconds(10), "the lock died with the killed replica")
            let token = try #require(survivor.envelope.data)
            #expect(simulator.state.isValid(token: token))
        }
    }
}
