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

    /// Whether `replica` leads webhook `id` (its `/metrics`).
    static func leads(_ replica: ServerProcess, _ id: String) async -> Bool {
        guard let (_, metrics) = try? await HTTP.request("GET", replica.baseURL + "/metrics") else { return false }
        return metrics.split(separator: "\n").contains { line in
            line.hasPrefix("tokenledger_webhook_leader") && line.contains("\"\(id)\"") && line.split(separator: " ").last.flatMap { Double($0) } == 1
        }
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
                let folder = NSTemporaryDirectory() + "tokenledger-hook-\(project)"
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                let resumed = try Command.run(
                    ["webhooks", "resume", id, "--from", String(from)], folder: folder,
                    environment: ["EVENTLOG_URL": try TestLogs.postgresURL(), "SECRETS_KEY": key].merging(environment) { $1 }
                )
                #expect(resumed.status == 0, "\(resumed.output)")
                let replayed = expected.filter { $0 >= from }.map(String.init)
                #expect(await eventually(20) { receiver.accepted.dropFirst(before).map(\.id).starts(with: replayed) }, "\(receiver.accepted.dropFirst(before).map(\.id))")
                let listed = try Command.run(
                    ["webhooks", "list"], folder: folder,
                    environment: ["EVENTLOG_URL": try TestLogs.postgresURL(), "SECRETS_KEY": key].merging(environment) { $1 }
                )
                #expect(listed.status == 0)
                #expect(listed.output.contains("\(id) → \(receiver.url)") && listed.output.contains("delivering, checkpoint"), "\(listed.output)")
                #expect(!listed.output.contains(Self.secret), "the secret never shows")
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
