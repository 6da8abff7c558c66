import Foundation
import LedgerTestSupport
import NIOHTTP1
import PlatformSimulator
import Testing

/// Replicas against one PostgreSQL under the partial failures production brings: a lock holder's
/// backend terminated while it lives, a slow platform, a flood of unknown ids, a hostile position,
/// PostgreSQL stopped and started again. Each counts upstream calls and checks which token is current.
@Suite(.serialized)
struct PartialFailureTests {
    static func postgres() throws -> String { try TestLogs.postgresURL() }

    @Test(.timeLimit(.minutes(3)))
    func aRefreshWhoseLockWasLostNeverMakesItsTokenCurrent() async throws {
        try await withSimulator { simulator in
            let project = uniqueProject("fence")
            simulator.state.register(appid: "wxfence", secret: "F")
            // A replaced token dies at once (as WeCom's and DingTalk's do in practice).
            simulator.state.setReplacedGrace(0, for: "wxfence")
            let replicas = try await ClusterTests.startReplicas(2, simulator: simulator, key: TestEnvironment.secretsKey())
            defer { replicas.forEach { $0.stop() } }
            let path = "/token/\(project)/wechat/wxfence"
            let (status, _) = try await HTTP.request("PUT", replicas[0].baseURL + path + "/credentials", body: #"{"secret":"F","options":{"mode":"classic"}}"#)
            #expect(status == 200)
            // Replica 0's call issues its token at once but answers only 3 s later.
            simulator.state.setNextBehaviours([.slowAnswer(milliseconds: 3000)], for: "wxfence")
            let slow = Task { try await HTTP.envelope("GET", replicas[0].baseURL + path) }
            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
            while simulator.state.calls(appid: "wxfence") == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            let first = simulator.state.current(appid: "wxfence")
            // Its lock's backend dies while the replica lives (a failover, an idle timeout, an operator).
            #expect(try TestServers.terminateRefreshLockHolders(try Self.postgres()) == 1)
            // Replica 1 refreshes meanwhile; the platform now honours only its token.
            let fast = try await HTTP.envelope("GET", replicas[1].baseURL + path)
            #expect(fast.status == 200)
            let late = try await slow.value
            #expect(late.status == 200)
            let honoured = try #require(simulator.state.current(appid: "wxfence"))
            #expect(honoured != first)
            #expect(!simulator.state.isValid(token: try #require(first)), "the first token was invalidated by the second")
            #expect(fast.envelope.data == honoured)
            #expect(late.envelope.data == honoured, "the replica whose lock was lost serves the newer token, not its own")
            for replica in replicas {
                #expect(try await HTTP.envelope("GET", replica.baseURL + path).envelope.data == honoured)
            }
            #expect(simulator.state.calls(appid: "wxfence") == 2)
            let (_, history) = try await HTTP.request("GET", replicas[0].baseURL + path + "/history")
            #expect(history.components(separatedBy: "\"token.issued\"").count - 1 == 1, "the superseded token was never recorded as issued")
            #expect(history.contains("superseded"))
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func aReaderOnAnotherReplicaWaitsForASlowRefreshAndGetsItsToken() async throws {
        try await withSimulator { simulator in
            let project = uniqueProject("wait")
            simulator.state.register(appid: "wxwait", secret: "W")
            let replicas = try await ClusterTests.startReplicas(2, simulator: simulator, key: TestEnvironment.secretsKey())
            defer { replicas.forEach { $0.stop() } }
            let path = "/token/\(project)/wechat/wxwait"
            #expect(try await HTTP.request("PUT", replicas[0].baseURL + path + "/credentials", body: #"{"secret":"W"}"#).0 == 200)
            // The platform takes 7 s: longer than eventlog.timeout_ms (5 s), well within lock_timeout_ms (30 s).
            simulator.state.setBehaviour(.slow(milliseconds: 7000), for: "wxwait")
            let first = Task { try await HTTP.envelope("GET", replicas[0].baseURL + path) }
            try await Task.sleep(for: .milliseconds(300))
            let second = try await HTTP.envelope("GET", replicas[1].baseURL + path)
            let firstAnswer = try await first.value
            #expect(firstAnswer.status == 200)
            #expect(second.status == 200, "\(second.envelope.error)")
            #expect(second.envelope.data == firstAnswer.envelope.data)
            #expect(simulator.state.calls(appid: "wxwait") == 1)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func aFloodOfUnknownAppsCostsNoConnectionsAndAHugePositionRefreshesOnce() async throws {
        try await withSimulator { simulator in
            let project = uniqueProject("flood")
            simulator.state.register(appid: "wxknown", secret: "K")
            let replica = try await ServerProcess.start(
                port: try TestEnvironment.freePort(),
                environment: [
                    "EVENTLOG_URL": try Self.postgres(), "PLATFORMS_WECHAT_BASE_URL": simulator.baseURL,
                    "SECRETS_KEY": TestEnvironment.secretsKey(), "EVENTLOG_CONNECTIONS": "6", "EVENTLOG_LOCK_CONNECTIONS": "4",
                ],
                name: "flood"
            )
            defer { replica.stop() }
            let baseline = try TestServers.serviceConnections(try Self.postgres())
            let urls = (0..<600).map { "\(replica.baseURL)/token/\(project)/wechat/nobody\($0)" }
            let watcher = Task {
                var most = 0
                while !Task.isCancelled {
                    most = max(most, (try? TestServers.serviceConnections(try Self.postgres())) ?? 0)
                    try? await Task.sleep(for: .milliseconds(50))
                }
                return most
            }
            let results = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for url in urls {
                    group.addTask {
                        let answer = try await HTTP.envelope("GET", url)
                        return (answer.status, answer.envelope.errorCode)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            watcher.cancel()
            let most = await watcher.value
            #expect(results.count == 600)
            #expect(results.allSatisfy { $0.0 == 404 && $0.1 == "credentials_missing" })
            #expect(most <= max(baseline, 0) + 6 + 4, "connections stay within eventlog.connections + eventlog.lock_connections")
            #expect(simulator.state.totalCalls() == 0)

            // A position far beyond the log's head is clamped: one PUT, one upstream refresh.
            let path = "/token/\(project)/wechat/wxknown"
            // Classic tokens: one upstream call per refresh (a stable token's forced refresh asks twice).
            #expect(try await HTTP.request("PUT", replica.baseURL + path + "/credentials", body: #"{"secret":"K","options":{"mode":"classic"}}"#).0 == 200)
            #expect(try await HTTP.envelope("GET", replica.baseURL + path).status == 200)
            let huge = ["X-Ledger-Min-Position": "9223372036854775807"]
            let started = ContinuousClock.now
            let put = try await HTTP.envelope("PUT", replica.baseURL + path, headers: huge)
            #expect(put.status == 200)
            #expect(simulator.state.calls(appid: "wxknown") == 2, "one PUT, one upstream refresh")
            let get = try await HTTP.envelope("GET", replica.baseURL + path, headers: huge)
            #expect(get.envelope.data == put.envelope.data)
            #expect(ContinuousClock.now - started < .seconds(3))
            #expect(simulator.state.calls(appid: "wxknown") == 2)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func withPostgreSQLStoppedAValidTokenIsServedStaleAndNothingAcknowledgedIsLost() async throws {
        let postgres = try Self.postgres()
        try await withSimulator { simulator in
            let project = uniqueProject("pgdown")
            // 14-second tokens with a margin of half their life: fresh for 7 s, valid for 14 s.
            simulator.state.register(appid: "wxdown", secret: "D", expiresIn: 14)
            simulator.state.register(appid: "wxlater", secret: "L")
            let replica = try await ServerProcess.start(
                port: try TestEnvironment.freePort(),
                environment: [
                    "EVENTLOG_URL": postgres, "PLATFORMS_WECHAT_BASE_URL": simulator.baseURL, "SECRETS_KEY": TestEnvironment.secretsKey(),
                    "EVENTLOG_TIMEOUT_MS": "1000", "REFRESH_MAX_EARLY_FRACTION": "0.5",
                ],
                name: "pgdown"
            )
            defer { replica.stop() }
            let path = "/token/\(project)/wechat/wxdown"
            let issued = try await HTTP.envelope("GET", replica.baseURL + path + "?secret=D")
            let token = try #require(issued.envelope.data)
            let fetchedAt = ContinuousClock.now
            let (_, before) = try await HTTP.request("GET", replica.baseURL + path + "/history")

            try TestServers.services(["kill", "postgres"])
            var restarted = false
            defer { if !restarted { try? TestServers.services(["start", "postgres"]) } }
            try await Task.sleep(until: fetchedAt.advanced(by: .seconds(7.5)), clock: .continuous)
            // Past the margin, not expired: the token is served, marked stale, at once.
            let started = ContinuousClock.now
            let stale = try await HTTP.envelope("GET", replica.baseURL + path)
            #expect(stale.status == 200, "\(stale.envelope.error)")
            #expect(stale.envelope.data == token)
            #expect(stale.headers.first(name: "X-Token-Stale") == "true")
            #expect(ContinuousClock.now - started < .seconds(5))
            // Nothing is known of a new app: 503 within the log's timeout.
            let cold = try await HTTP.envelope("GET", replica.baseURL + "/token/\(project)/wechat/wxlater?secret=L")
            #expect(cold.status == 503)
            #expect(cold.envelope.errorCode == "store_unavailable")
            #expect(try await HTTP.request("GET", replica.baseURL + "/healthz").0 == 200)

            try TestServers.services(["start", "postgres"])
            restarted = true
            var recovered: String?
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while recovered == nil, ContinuousClock.now < deadline {
                let answer = try await HTTP.envelope("PUT", replica.baseURL + path)
                if answer.status == 200 { recovered = answer.envelope.data } else { try await Task.sleep(for: .milliseconds(250)) }
            }
            let renewed = try #require(recovered, "refreshes work again within seconds of the restart")
            #expect(renewed != token)
            #expect(try await HTTP.envelope("GET", replica.baseURL + "/token/\(project)/wechat/wxlater?secret=L").status == 200)
            // Every event acknowledged before the stop is in the log, unchanged.
            let (_, after) = try await HTTP.request("GET", replica.baseURL + path + "/history")
            let beforeEvents = try Self.events(before)
            let afterEvents = try Self.events(after)
            #expect(!beforeEvents.isEmpty)
            #expect(Array(afterEvents.prefix(beforeEvents.count)) == beforeEvents)
        }
    }

    /// The history's events as (position, type) pairs.
    static func events(_ history: String) throws -> [String] {
        let object = try JSONSerialization.jsonObject(with: Data(history.utf8)) as? [String: Any]
        let data = object?["data"] as? [[String: Any]] ?? []
        return data.map { "\($0["position"] ?? "?") \($0["type"] ?? "?")" }
    }
}

/// Credentials that replace working ones are tried first, over HTTP as a caller sees it.
@Suite(.serialized)
struct CredentialChangeTests {
    @Test(.timeLimit(.minutes(2)))
    func aWrongNewSecretIsRefusedAndTheWorkingOneStaysUnlessVerificationIsTurnedOff() async throws {
        try await withSimulator { simulator in
            simulator.state.register(appid: "wxrotate", secret: "good")
            let service = try await EmbeddedServer.start(simulator: simulator)
            defer { service.server.stop() }
            let path = "/token/demo/wechat/wxrotate"
            let token = try #require(try await HTTP.envelope("GET", service.url(path + "?secret=good")).envelope.data)
            // A GET with a wrong secret: 502 with the platform's words, nothing registered.
            let wrong = try await HTTP.envelope("GET", service.url(path + "?secret=typo"))
            #expect(wrong.status == 502)
            #expect(wrong.envelope.errorCode == "upstream_rejected_credentials")
            let put = try await HTTP.request("PUT", service.url(path + "/credentials"), body: #"{"secret":"typo"}"#)
            #expect(put.0 == 502)
            #expect(put.1.contains("upstream_rejected_credentials"))
            #expect(try await HTTP.envelope("GET", service.url(path)).envelope.data == token)
            let (_, history) = try await HTTP.request("GET", service.url(path + "/history"))
            #expect(history.components(separatedBy: "\"credentials.set\"").count - 1 == 1, "the wrong secret was never recorded")
            // An explicit opt-out records it without asking the platform.
            let calls = simulator.state.calls(appid: "wxrotate")
            let unverified = try await HTTP.request("PUT", service.url(path + "/credentials"), body: #"{"secret":"typo","verify":false}"#)
            #expect(unverified.0 == 200)
            #expect(simulator.state.calls(appid: "wxrotate") == calls)
        }
    }
}
