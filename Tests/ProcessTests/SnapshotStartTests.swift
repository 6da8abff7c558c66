import Foundation
import LedgerTestSupport
import Logging
import PlatformSimulator
import PostgresNIO
import Testing

/// `eventlog.snapshot_every`: a replica writes snapshots of its memory model to PostgreSQL, and
/// the next replica to start restores the newest and serves the same tokens without a call.
@Suite(.serialized)
struct SnapshotStartTests {
    /// The newest snapshot's position, and the position of `project`'s last event.
    static func positions(project: String) async throws -> (snapshot: Int64, project: Int64) {
        try await RawPostgres.with(url: try TestLogs.postgresURL()) { connection in
            let rows = try await connection.query(
                """
                SELECT (SELECT coalesce(max(position), 0) FROM memory_snapshots),
                       (SELECT coalesce(max(position), 0) FROM token_events WHERE project = \(project))
                """,
                logger: Logger(label: "raw")
            )
            for try await pair in rows.decode((Int64, Int64).self) { return pair }
            return (0, 0)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func aReplicaStartsFromTheSnapshotAnotherWroteAndServesTheSameTokenWithoutACall() async throws {
        try await withSimulator { simulator in
            let project = uniqueProject("snapshot")
            simulator.state.register(appid: "wxsnap", secret: "S1")
            let environment = ["EVENTLOG_SNAPSHOT_EVERY": "1", "EVENTLOG_POLL_INTERVAL_MS": "200"]
            let key = TestEnvironment.secretsKey()
            let first = try #require(try await ClusterTests.startReplicas(1, simulator: simulator, key: key, environment: environment, names: project).first)
            let path = "/token/\(project)/wechat/wxsnap"
            let token = try #require(try await HTTP.envelope("GET", first.baseURL + path + "?secret=S1").envelope.data)
            #expect(try await eventually(20) {
                let (snapshot, last) = try await Self.positions(project: project)
                return snapshot >= last
            }, "a snapshot covering the token is written")
            let (_, metrics) = try await HTTP.request("GET", first.baseURL + "/metrics")
            #expect(metrics.contains("tokenledger_memory_snapshots_written_total"))
            _ = first.stop()
            // `verify` compares it with the log folded up to its position.
            let folder = NSTemporaryDirectory() + "tokenledger-snapshot-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let verified = try Command.run(["verify"], folder: folder, environment: ["EVENTLOG_URL": try TestLogs.postgresURL(), "SECRETS_KEY": key])
            #expect(verified.status == 0, "\(verified.output)")
            #expect(verified.output.contains("memory snapshot at position"), "\(verified.output)")
            #expect(verified.output.contains("matches the log"), "\(verified.output)")

            let second = try #require(try await ClusterTests.startReplicas(1, simulator: simulator, key: key, environment: environment, names: project + "b").first)
            defer { _ = second.stop() }
            #expect(try await HTTP.envelope("GET", second.baseURL + path).envelope.data == token)
            #expect(simulator.state.calls(appid: "wxsnap") == 1, "the restored token is served: no second call")
            let (snapshot, _) = try await Self.positions(project: project)
            let (_, restored) = try await HTTP.request("GET", second.baseURL + "/metrics")
            #expect(restored.contains("tokenledger_memory_snapshot_restored_position \(snapshot)"), "it started from the newest snapshot")

            // Another secrets key (a rotation in progress): the snapshot is passed over, the log replayed.
            let other = try #require(
                try await ClusterTests.startReplicas(
                    1, simulator: simulator, key: key, environment: environment.merging(["SECRETS_PREVIOUS_KEYS": "old:\(TestEnvironment.secretsKey())"]) { $1 },
                    names: project + "c"
                ).first
            )
            defer { _ = other.stop() }
            #expect(try await HTTP.envelope("GET", other.baseURL + path).envelope.data == token)
            #expect(other.log().contains("memory snapshot not restored"), "\(other.log().suffix(2000))")
        }
    }

    /// The embedded node (SQLite) keeps its snapshots in its file and starts from the newest.
    @Test(.timeLimit(.minutes(2)))
    func theEmbeddedNodeStartsFromItsOwnSnapshot() async throws {
        try await withSimulator { simulator in
            simulator.state.register(appid: "wxembedded", secret: "S1")
            let extra = ["EVENTLOG_SNAPSHOT_EVERY": "1", "EVENTLOG_POLL_INTERVAL_MS": "200"]
            let first = try await EmbeddedServer.start(simulator: simulator, extra: extra)
            let path = "/token/embedded/wechat/wxembedded"
            let token = try #require(try await HTTP.envelope("GET", first.url(path + "?secret=S1")).envelope.data)
            func written(_ server: EmbeddedServer) async throws -> Bool {
                let (_, metrics) = try await HTTP.request("GET", server.url("/metrics"))
                return metrics.contains("tokenledger_memory_snapshots_written_total 1")
            }
            #expect(try await eventually(20) { try await written(first) }, "the node wrote a snapshot")
            _ = first.server.stop()

            let second = try await EmbeddedServer.start(simulator: simulator, folder: first.folder, extra: extra)
            defer { _ = second.server.stop() }
            #expect(try await HTTP.envelope("GET", second.url(path)).envelope.data == token)
            #expect(simulator.state.calls(appid: "wxembedded") == 1)
            let (_, metrics) = try await HTTP.request("GET", second.url("/metrics"))
            let restored = metrics.split(separator: "\n").first { $0.hasPrefix("tokenledger_memory_snapshot_restored_position ") }
            #expect(restored != nil && restored?.hasSuffix(" 0") == false, "it started from its snapshot: \(restored ?? "no metric")")
        }
    }
}
