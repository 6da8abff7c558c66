import Foundation
import LedgerPostgres
import LedgerTestSupport
import Logging
import PostgresNIO
import Testing
import TokenLedger

/// Least privilege on the real server: the owner migrates, `serve` runs as `tokenledger_writer`,
/// which can read and append but cannot change the log. Each test has a database of its own.
@Suite(.serialized)
struct PostgresPrivilegeTests {
    static let writer = "tokenledger_writer"

    @Test(.timeLimit(.minutes(1)))
    func theWriterAppendsReadsLocksAndListensWithoutDDLRights() async throws {
        try await FreshDatabase.with { database in
            let applied = try await database.withLog(as: try FreshDatabase.superuser()) { owner in try await owner.migrate() }
            #expect(applied == [1, 2, 3, 4, 5, 6, 7])
            try await database.withLog(as: Self.writer) { log in
                #expect(try await log.prepareSchema().isEmpty, "serve as the writer checks the migrations and goes on")
                let sealer = try Sealer(current: "k", keys: ["k": Sealer.generateKey()])
                let model = MemoryReadModel(sealer: sealer)
                // A poll far slower than the test: only LISTEN can bring the event.
                let projector = Projector(log: log, model: model, pollInterval: .seconds(600), logger: Logger(label: "projector"))
                let running = Task { try await projector.run() }
                defer { running.cancel() }
                try await projector.catchUp()
                let stream = try StreamID(project: "priv", platform: "wechat", appid: "wx1")
                // The writer appends as a refresh does: through the lock's fence, in its transaction.
                let recorded = try await log.withRefreshLock(on: stream) { fence in
                    try await fence.append([EventLogConformance.event()], to: stream, expectedVersion: 0)
                }
                #expect(try await log.read(stream: stream, afterVersion: 0, limit: 10).map(\.position) == recorded.map(\.position))
                #expect(try await log.readAll(after: 0, limit: 10).map(\.position) == recorded.map(\.position))
                #expect(await eventually(10) { model.checkpoint >= recorded[0].position })
                #expect(try await log.lead("privilege-test") { 7 } == 7, "leadership is an advisory lock: no grant needed")
                // serve keeps the webhooks' checkpoints: creates, moves, parks and resumes them.
                let checkpoint = try await log.checkpoint(of: "priv-hook")
                #expect(checkpoint.position == recorded[0].position, "a new webhook starts at the log's head")
                #expect(try await log.advance("priv-hook", from: checkpoint.position, to: checkpoint.position + 1))
                #expect(try await log.advance("priv-hook", from: checkpoint.position, to: checkpoint.position + 2) == false, "a move is compare-and-set")
                #expect(try await log.park("priv-hook", at: checkpoint.position + 1, reason: "the receiver answered 503"))
                #expect(try await log.checkpoint(of: "priv-hook").parkedReason == "the receiver answered 503")
                #expect(try await log.resume("priv-hook", from: 1) == WebhookCheckpoint(id: "priv-hook", position: 0))
                #expect(try await log.all().map(\.id) == ["priv-hook"])
                // serve writes the memory model's snapshots, replaces one at a taken position, deletes older ones.
                for (position, node) in [(recorded[0].position, "a"), (recorded[0].position, "b")] {
                    let snapshot = StoredMemorySnapshot(position: position, format: MemorySnapshot.format, keyIDs: "k", node: node, state: [1, 2, 3])
                    try await log.saveMemorySnapshot(snapshot, keeping: 1)
                }
                #expect(try await log.latestMemorySnapshot(withState: true)?.node == "b")
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func theWriterCannotUpdateDeleteTruncateOrDisableTheTriggers() async throws {
        try await FreshDatabase.with { database in
            try await database.withLog(as: try FreshDatabase.superuser()) { owner in
                try await owner.migrate()
                _ = try await owner.append([EventLogConformance.event()], to: try StreamID(project: "priv", platform: "wechat", appid: "wx1"), expectedVersion: 0)
            }
            try await database.withConnection(as: Self.writer) { connection in
                for statement in [
                    "UPDATE token_events SET type = 'token.revoked'",
                    "DELETE FROM token_events",
                    "TRUNCATE token_events",
                    "ALTER TABLE token_events DISABLE TRIGGER ALL",
                    "DROP TABLE token_events",
                    "DELETE FROM tokenledger_migrations",
                    "DELETE FROM webhook_checkpoints",
                    "DROP TABLE webhook_checkpoints",
                    "DROP TABLE memory_snapshots",
                ] {
                    let refusal = await Self.refusal(of: statement, on: connection)
                    // Refused by privilege, not only by the append-only trigger (which the owner could disable).
                    #expect(refusal?.contains("permission denied") == true || refusal?.contains("must be owner") == true, "\(statement): \(refusal ?? "accepted")")
                }
            }
            let count = try await database.withConnection(as: try FreshDatabase.superuser()) { connection in
                var count = 0
                for try await value in try await connection.query("SELECT count(*)::int FROM token_events", logger: Logger(label: "raw")).decode(Int.self) { count = value }
                return count
            }
            #expect(count == 1, "the log is as it was")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func theWriterOnAnUnmigratedDatabaseSaysToRunMigrate() async throws {
        // The role exists (it is the cluster's); this database has no schema.
        try await Self.ensureWriterExists()
        try await FreshDatabase.with { database in
            try await database.withLog(as: Self.writer) { log in
                do {
                    try await log.prepareSchema()
                    Issue.record("the writer migrated a database it does not own")
                } catch let failure as SchemaFailure {
                    #expect(failure.description.contains("run `tokenledger migrate` as the owner"), "\(failure)")
                    #expect(failure.description.contains("tokenledger_writer cannot apply them"), "\(failure)")
                }
            }
        }
    }

    /// The owner lacks CREATEROLE and the writer does not exist: migration 003 must fail, and
    /// nothing (not even 001 and 002) is applied or recorded.
    @Test(.timeLimit(.minutes(1)))
    func aMigrationThatCannotCreateTheWriterFailsLoudlyAndRecordsNothing() async throws {
        let owner = "tl_owner_\(UInt32.random(in: 0...UInt32.max))"
        let aside = "tokenledger_writer_aside_\(UInt32.random(in: 0...UInt32.max))"
        try await Self.ensureWriterExists()
        try await Self.asSuperuser("CREATE ROLE \(owner) LOGIN NOCREATEROLE")
        // Roles are the cluster's: the writer is renamed aside (its grants elsewhere kept) and back.
        try await Self.asSuperuser("ALTER ROLE \(Self.writer) RENAME TO \(aside)")
        do {
            try await FreshDatabase.with(owner: owner) { database in
                let failure = try await database.withLog(as: owner) { log in
                    do {
                        try await log.migrate()
                        return "migrated"
                    } catch {
                        return "\(error)"
                    }
                }
                #expect(failure.contains("migration 3 (writer_role) failed"), "\(failure)")
                #expect(failure.contains("permission denied to create role"), "\(failure)")
                #expect(failure.contains("CREATEROLE"), "the operator is told what the role lacks: \(failure)")
                let tables = try await database.withConnection(as: owner) { connection in
                    var names: [String] = []
                    let rows = try await connection.query(
                        "SELECT tablename FROM pg_tables WHERE tablename IN ('token_events', 'tokenledger_migrations')",
                        logger: Logger(label: "raw")
                    )
                    for try await name in rows.decode(String.self) { names.append(name) }
                    return names
                }
                #expect(tables.isEmpty, "nothing applied, nothing recorded: \(tables)")
            }
        } catch {
            try? await Self.asSuperuser("ALTER ROLE \(aside) RENAME TO \(Self.writer)")
            try? await Self.asSuperuser("DROP ROLE IF EXISTS \(owner)")
            throw error
        }
        try await Self.asSuperuser("ALTER ROLE \(aside) RENAME TO \(Self.writer)")
        try await Self.asSuperuser("DROP ROLE IF EXISTS \(owner)")
    }

    /// Replicas that start together on an empty database (a rolling deploy): each applies what is
    /// missing under the migration lock, so every migration is applied exactly once.
    @Test(.timeLimit(.minutes(1)))
    func replicasStartingTogetherOnAnEmptyDatabaseApplyEachMigrationOnce() async throws {
        try await FreshDatabase.with { database in
            let superuser = try FreshDatabase.superuser()
            let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<4 {
                    group.addTask { try await database.withLog(as: superuser) { log in try await log.prepareSchema() } }
                }
                return try await group.reduce(into: [Int]()) { $0 += $1 }
            }
            #expect(applied.sorted() == [1, 2, 3, 4, 5, 6, 7])
            let again = try await database.withLog(as: superuser) { log in try await log.prepareSchema() }
            #expect(again.isEmpty)
        }
    }

    /// The writer role exists in the cluster: migrating a throw-away database creates it if not.
    static func ensureWriterExists() async throws {
        _ = try await FreshDatabase.with { database in
            try await database.withLog(as: try FreshDatabase.superuser()) { log in try await log.migrate() }
        }
    }

    static func asSuperuser(_ statement: String) async throws {
        _ = try await PostgresEventLogTests.withRawConnection { connection in
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Logger(label: "raw"))
        }
    }

    /// PostgreSQL's message when it refuses `statement`, nil if it ran.
    static func refusal(of statement: String, on connection: PostgresConnection) async -> String? {
        do {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Logger(label: "raw"))
            return nil
        } catch let error as PSQLError {
            return error.serverInfo?[.message] ?? String(reflecting: error)
        } catch {
            return String(reflecting: error)
        }
    }
}
