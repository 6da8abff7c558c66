import Foundation
import LedgerPostgres
import LedgerTestSupport
import Logging
import PostgresNIO
import Testing
import TokenLedger

/// The memory model's snapshots in `memory_snapshots` (migration 007) on the real server: the
/// leader writes them, a new projector starts from the newest at or below the log's head.
@Suite(.serialized)
struct PostgresSnapshotTests {
    @Test(.timeLimit(.minutes(1)))
    func aReplicaStartsFromTheNewestSnapshotAtOrBelowTheHead() async throws {
        try await FreshDatabase.with { database in
            try await database.withLog(as: try FreshDatabase.superuser()) { log in
                try await log.migrate()
                let platform = FakePlatform()
                let fixture = try LedgerFixture(log: log, platforms: ["wechat": platform])
                let streams = try (0..<5).map { try StreamID(project: "snap", platform: "wechat", appid: "wx\($0)") }
                for stream in streams {
                    try await fixture.ledger.credentials.register(secret: "S", for: stream, context: CallContext())
                    _ = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
                }
                let model = fixture.ledger.projector.model
                try await fixture.ledger.projector.catchUp()
                // Written by the leader of `memory-snapshot` (an advisory lock of the log's).
                let writer = MemorySnapshotWriter(model: model, store: log, election: log, every: 4, interval: .seconds(1), node: "n1", logger: Logger(label: "writer"))
                let first = try #require(try await writer.writeIfDue())
                #expect(first == model.checkpoint)
                let header = try #require(try await log.latestMemorySnapshot(withState: false))
                #expect(header.position == first && header.state.isEmpty && header.node == "n1" && header.keyIDs == "k1")

                for stream in streams { _ = try await fixture.ledger.reader.refresh(stream, secret: nil, nowToken: nil, context: CallContext()) }
                try await fixture.ledger.projector.catchUp()
                let second = try #require(try await writer.writeIfDue(newest: first))
                #expect(second == model.checkpoint && second > first)
                for stream in streams.prefix(4) { _ = try await fixture.ledger.reader.refresh(stream, secret: nil, nowToken: nil, context: CallContext()) }
                try await fixture.ledger.projector.catchUp()
                let third = try #require(try await writer.writeIfDue(newest: second))
                #expect(third > second)
                try await RawPostgres.with(url: database.url(as: try FreshDatabase.superuser())) { connection in
                    var kept: [Int64] = []
                    let rows = try await connection.query("SELECT position FROM memory_snapshots ORDER BY position", logger: Logger(label: "raw"))
                    for try await position in rows.decode(Int64.self) { kept.append(position) }
                    #expect(kept == [second, third], "the newest two are kept")
                }

                // The one at the head is restored; the events after it are read from the log.
                let refreshed = try await fixture.ledger.reader.refresh(streams[4], secret: nil, nowToken: nil, context: CallContext())
                let started = MemoryReadModel(sealer: fixture.sealer)
                let projector = Projector(log: log, model: started, snapshots: log, logger: Logger(label: "start"))
                try await projector.catchUp()
                #expect(projector.restoredFrom == third)
                #expect(started.state(of: streams[4])?.token?.value == refreshed.token)
                try await fixture.ledger.projector.catchUp()
                #expect(started.allStates() == model.allStates())

                // A snapshot past the head (the log restored from an older backup) is not read.
                var ahead = try MemorySnapshot.make(of: model, node: "n2")
                ahead.position += 100
                try await log.saveMemorySnapshot(ahead, keeping: 3)
                #expect(try await log.latestMemorySnapshot(withState: false)?.position == third)
            }
        }
    }
}
