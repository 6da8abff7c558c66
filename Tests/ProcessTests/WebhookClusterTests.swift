import Foundation
import LedgerTestSupport
import PlatformSimulator
import PostgresNIO
import Testing
import TokenLedger

/// Webhooks delivered by replicas sharing one PostgreSQL, to a real receiver that refuses the
/// first deliveries, with the leader SIGKILLed mid-delivery: every event arrives at least once,
/// in order, signed; nothing is lost across the takeover; `webhooks resume --from` replays.
@Suite(.serialized)
struct WebhookClusterTests {
    static let secret = "whsec_cluster"

    /// The value of gauge `name` of webhook `id` in `replica`'s `/metrics`, if it shows one.
    static func gauge(_ replica: ServerProcess, _ name: String, _ id: String) async -> Double? {
        guard let (_, metrics) = try? await HTTP.request("GET", replica.baseURL + "/metrics") else { return nil }
        let line = metrics.split(separator: "\n").first { $0.hasPrefix(name + "{") && $0.contains("\"\(id)\"") }
        return line?.split(separator: " ").last.flatMap { Double($0) }
    }

    /// Whether `replica` leads webhook `id`.
    static func leads(_ replica: ServerProcess, _ id: String) async -> Bool {
        await gauge(replica, "tokenledger_webhook_leader", id) == 1
    }

    /// `tokenledger webhooks …` against the test PostgreSQL with `environment`.
    static func webhooks(_ arguments: [String], environment: [String: String]) throws -> (status: Int32, output: String) {
        let folder = NSTemporaryDirectory() + "tokenledger-hooks-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return try Command.run(["webhooks"] + arguments, folder: folder, environment: ["EVENTLOG_URL": try TestLogs.postgresURL()].merging(environment) { $1 })
    }

    /// The positions of `project`'s events a webhook tells of, in log order.
    static func pushedPositions(_ project: String) async throws -> [Int64] {
        try await RawPostgres.with(url: try TestLogs.postgresURL()) { connection in
            let rows = try await connection.query(
                "SELECT position FROM token_events WHERE project = \(project) AND type IN ('token.issued', 'token.refresh_failed') ORDER BY position",
                logger: RawPostgres.logger
            )
            var positions: [Int64] = []
            for try await position in rows.decode(Int64.self) { positions.append(position) }
            return positions
        }
    }

    /// Whether webhook `id` has a checkpoint (a replica leads it).
    static func started(_ id: String) async throws -> Bool {
        try await RawPostgres.with(url: try TestLogs.postgresURL()) { connection in
            let rows = try await connection.query("SELECT count(*) FROM webhook_checkpoints WHERE id = \(id)", logger: RawPostgres.logger)
            for try await count in rows.decode(Int64.self) { return count == 1 }
            return false
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func everyEventArrivesInOrderAcrossALeaderKilledMidDelivery() async throws {
        try await withSimulator { simulator in
            try await WebhookReceiver.withRunning { receiver in
                let project = uniqueProject("hook")
                let id = "hook-\(project)"
                simulator.state.register(appid: "wxhooka", secret: "SA")
                simulator.state.register(appid: "wxhookb", secret: "SB")
                let environment = [
                    "WEBHOOKS": "\(id) url=\(receiver.url) secret=\(Self.secret) projects=\(project)",
                    "WEBHOOKS_BACKOFF_MS": "100",
                    "WEBHOOKS_MAX_BACKOFF_MS": "400",
                    "WEBHOOKS_MAX_ATTEMPTS": "50",
                    "EVENTLOG_POLL_INTERVAL_MS": "500",
                ]
                let key = TestEnvironment.secretsKey()
                var replicas = try await ClusterTests.startReplicas(2, simulator: simulator, key: key, environment: environment, names: "hook")
                defer { replicas.forEach { $0.stop() } }
                #expect(try await eventually { try await Self.started(id) }, "a replica leads the webhook")
                receiver.refuse(next: 3)
                receiver.hold(for: .milliseconds(150))

                let a = "/token/\(project)/wechat/wxhooka"
                let b = "/token/\(project)/wechat/wxhookb"
                let writer = replicas[1].baseURL
                #expect(try await HTTP.envelope("GET", writer + a + "?secret=SA").status == 200)
                #expect(try await HTTP.envelope("GET", writer + b + "?secret=SB").status == 200)
                simulator.state.setBehaviour(.busy, for: "wxhooka")
                for _ in 0..<2 { _ = try await HTTP.envelope("PUT", writer + a) }
                simulator.state.setBehaviour(.normal, for: "wxhooka")
                #expect(try await HTTP.envelope("PUT", writer + a).status == 200)
                for _ in 0..<3 { #expect(try await HTTP.envelope("PUT", writer + b).status == 200) }

                // Kill the leader while it delivers (each delivery is held 150 ms by the receiver).
                #expect(await eventually { receiver.accepted.count >= 2 })
                let leader = try #require(await Self.firstLeader(replicas, id))
                // Right after a delivery arrives (the receiver holds it 150 ms): the leader dies mid-delivery.
                let arrived = receiver.deliveries.count
                #expect(await eventually(every: .milliseconds(2)) { receiver.deliveries.count > arrived })
                replicas[leader].kill()
                let heldBeforeKill = receiver.deliveries.count
                #expect(receiver.inFlight > 0, "a delivery was in flight when the leader died")
                let survivor = replicas[1 - leader]
                #expect(await Self.firstLeader([survivor], id) != nil, "the survivor takes the webhook over")
                simulator.state.setBehaviour(.quotaExhausted, for: "wxhookb")
                _ = try await HTTP.envelope("PUT", survivor.baseURL + b)
                simulator.state.setBehaviour(.normal, for: "wxhookb")
                #expect(try await HTTP.envelope("PUT", survivor.baseURL + a).status == 200)
                replicas.remove(at: leader)

                let expected = try await Self.pushedPositions(project)
                #expect(expected.count >= 10)
                #expect(
                    await eventually(30) { Set(receiver.accepted.map(\.id)).isSuperset(of: expected.map(String.init)) },
                    "every event arrives: \(expected) — got \(receiver.accepted.map(\.id))"
                )
                let accepted = receiver.accepted
                #expect(accepted.allSatisfy { $0.verifies(secret: Self.secret) }, "every signature verifies")
                var firsts: [Int64] = []
                for delivery in accepted where !firsts.contains(Int64(delivery.id) ?? -1) { firsts.append(Int64(delivery.id) ?? -1) }
                #expect(firsts == expected, "first arrivals follow the log's order")
                let all = receiver.deliveries
                let redelivered = Set(all.dropFirst(heldBeforeKill).map(\.id)).intersection(all.prefix(heldBeforeKill).map(\.id))
                #expect(!redelivered.isEmpty, "the delivery in flight at the kill is posted again by the new leader")
                let events = try accepted.map { try $0.decoded() }
                #expect(Set(events.map(\.project)) == [project])
                #expect(events.contains { $0.type == .tokenRecovered && $0.appid == "wxhooka" && ($0.failures ?? 0) >= 2 })
                #expect(events.contains { $0.type == .appParked && $0.appid == "wxhookb" && $0.error == "upstream_quota_exhausted" })

                // Replay from the first recovery on: the same events again, in order.
                let from = try #require(events.first { $0.type == .tokenRecovered }?.position)
                let before = receiver.accepted.count
                let resumed = try Self.webhooks(["resume", id, "--from", String(from)], environment: environment.merging(["SECRETS_KEY": key]) { $1 })
                #expect(resumed.status == 0, "\(resumed.output)")
                let replayed = expected.filter { $0 >= from }.map(String.init)
                #expect(await eventually(20) { receiver.accepted.dropFirst(before).map(\.id).starts(with: replayed) }, "\(receiver.accepted.dropFirst(before).map(\.id))")
                let listed = try Self.webhooks(["list"], environment: environment.merging(["SECRETS_KEY": key]) { $1 })
                #expect(listed.status == 0)
                #expect(listed.output.contains("\(id) → \(receiver.url)") && listed.output.contains("delivering, checkpoint"), "\(listed.output)")
                #expect(!listed.output.contains(Self.secret), "the secret never shows")
            }
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aWebhookThatKeepsFailingIsParkedInMetricsLogAndListUntilResumed() async throws {
        try await withSimulator { simulator in
            try await WebhookReceiver.withRunning { receiver in
                let project = uniqueProject("park")
                let id = "park-\(project)"
                simulator.state.register(appid: "wxpark", secret: "SP")
                receiver.refuse(next: 1000)
                let environment = [
                    "WEBHOOKS": "\(id) url=\(receiver.url) secret=\(Self.secret) projects=\(project)",
                    "WEBHOOKS_BACKOFF_MS": "50",
                    "WEBHOOKS_MAX_ATTEMPTS": "2",
                    "EVENTLOG_POLL_INTERVAL_MS": "300",
                ]
                let replicas = try await ClusterTests.startReplicas(1, simulator: simulator, key: TestEnvironment.secretsKey(), environment: environment, names: "park")
                defer { replicas.forEach { $0.stop() } }
                let replica = replicas[0]
                #expect(try await eventually { try await Self.started(id) })
                #expect(try await HTTP.envelope("GET", replica.baseURL + "/token/\(project)/wechat/wxpark?secret=SP").status == 200)
                #expect(await eventually { await Self.gauge(replica, "tokenledger_webhook_parked", id) == 1 }, "parked, in the metrics")
                #expect(receiver.deliveries.count == 2, "two attempts, then nothing")
                #expect(replica.log().contains("webhook parked after 2 failed attempts"), "and in the log")
                let listed = try Self.webhooks(["list"], environment: environment)
                #expect(listed.output.contains("parked at") && listed.output.contains("the receiver answered 503"), "\(listed.output)")

                receiver.refuse(next: 0)
                let resumed = try Self.webhooks(["resume", id], environment: environment)
                #expect(resumed.status == 0, "\(resumed.output)")
                #expect(await eventually { receiver.accepted.count == 1 }, "the event that kept failing is delivered")
                #expect(receiver.accepted.first?.id == receiver.deliveries.first?.id)
                #expect(await eventually { await Self.gauge(replica, "tokenledger_webhook_parked", id) == 0 })
                #expect(try Self.webhooks(["resume", "nobody"], environment: environment).output.contains("no webhook 'nobody' is configured"))
            }
        }
    }

    /// The index of the replica that leads webhook `id`, once one does.
    static func firstLeader(_ replicas: [ServerProcess], _ id: String) async -> Int? {
        for _ in 0..<100 {
            for (index, replica) in replicas.enumerated() where await leads(replica, id) { return index }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }
}
