import Foundation
import LedgerPostgres
import LedgerTestSupport
import Logging
import PostgresNIO
import Synchronization
import Testing
import TokenLedger

/// The PostgreSQL log against a real server (`TOKENLEDGER_TEST_POSTGRES_URL`, set by tools/test).
@Suite(.serialized)
struct PostgresEventLogTests {
    static func url() throws -> String { try TestLogs.postgresURL() }

    /// Runs `body` with a migrated log whose pools are running.
    static func withLog<T: Sendable>(_ body: @Sendable (PostgresEventLog) async throws -> T) async throws -> T {
        try await TestLogs.withPostgres(body)
    }

    /// A raw connection for what the log itself never does (holding a transaction open, UPDATE),
    /// to the test database or to `database`.
    static func withRawConnection<T: Sendable>(
        database: String? = nil,
        _ body: @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await RawPostgres.with(url: try url(), database: database, body)
    }

    static func stream() throws -> StreamID {
        try StreamID(project: "pg\(UInt32.random(in: 0...UInt32.max))", platform: "wechat", appid: "wx1")
    }

    /// A rolling deploy on an empty database: several replicas, each with its own pool, migrate at
    /// once. Every migration is applied by exactly one of them and recorded once.
    @Test(.timeLimit(.minutes(2)))
    func replicasStartingTogetherOnAnEmptyDatabaseMigrateItOnce() async throws {
        let database = "tokenledger_migrate_\(UInt32.random(in: 0...UInt32.max))"
        let logger = Logger(label: "raw")
        try await Self.withRawConnection { connection in
            _ = try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(database)"), logger: logger)
        }
        do {
            var components = try #require(URLComponents(string: try Self.url()))
            components.path = "/" + database
            let url = try #require(components.string)
            let replicas = try (0..<5).map { _ in try PostgresEventLog(url: url, logger: Logger(label: "migrator"), timeout: .seconds(30)) }
            let applied: [[Int]] = try await withThrowingTaskGroup(of: Void.self) { pools in
                for replica in replicas { pools.addTask { await replica.run() } }
                defer { pools.cancelAll() }
                let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                    for replica in replicas { group.addTask { try await replica.migrate() } }
                    return try await group.reduce(into: [[Int]]()) { $0.append($1) }
                }
                #expect(try await replicas[0].migrate().isEmpty, "a later start applies nothing")
                return applied
            }
            let (recorded, tables, triggers) = try await Self.withRawConnection(database: database) { connection in
                var recorded: [Int] = []
                let rows = try await connection.query("SELECT version FROM tokenledger_migrations ORDER BY version", logger: logger)
                for try await version in rows.decode(Int.self) { recorded.append(version) }
                var tables = 0
                for try await count in try await connection.query(
                    "SELECT count(*)::int FROM pg_tables WHERE schemaname = 'public' AND tablename = 'token_events'",
                    logger: logger
                ).decode(Int.self) { tables = count }
                var triggers: [String] = []
                for try await name in try await connection.query(
                    "SELECT tgname::text FROM pg_trigger WHERE tgrelid = 'token_events'::regclass AND NOT tgisinternal ORDER BY tgname",
                    logger: logger
                ).decode(String.self) { triggers.append(name) }
                return (recorded, tables, triggers)
            }
            #expect(!recorded.isEmpty)
            #expect(recorded == Array(1...recorded.count), "every migration recorded once, in order: \(recorded)")
            #expect(applied.flatMap { $0 }.sorted() == recorded, "each migration applied by exactly one replica: \(applied)")
            #expect(applied.filter { !$0.isEmpty }.count == 1, "the replica holding the lock applied them all: \(applied)")
            #expect(tables == 1)
            #expect(Set(triggers).count == triggers.count && !triggers.isEmpty, "the append-only triggers exist once: \(triggers)")
        } catch {
            try? await Self.dropDatabase(database)
            throw error
        }
        try await Self.dropDatabase(database)
    }

    static func dropDatabase(_ name: String) async throws {
        try await withRawConnection { connection in
            _ = try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: Logger(label: "raw"))
        }
    }

    /// Each replica names its connections after its node, so the dashboard lists who is connected
    /// now; a replica that stops drops out of the list.
    @Test(.timeLimit(.minutes(1)))
    func connectedReplicasAreListedByNodeWhileTheyRun() async throws {
        let tag = "replica-\(UInt32.random(in: 0...UInt32.max))"
        let other = try PostgresEventLog(url: try Self.url(), logger: Logger(label: "other"), node: tag + "-b")
        try await Self.withLog { _ in
            let log = try PostgresEventLog(url: try Self.url(), logger: Logger(label: "this"), node: tag + "-a")
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await log.run() }
                let running = Task { await other.run() }
                defer { group.cancelAll() }
                _ = try await other.readAll(after: 0, limit: 1)
                _ = try await log.readAll(after: 0, limit: 1)
                let mine = { try await log.connectedReplicas().filter { $0.node.hasPrefix(tag) } }
                let both = try await mine()
                #expect(both.map(\.node) == [tag + "-a", tag + "-b"])
                #expect(both.allSatisfy { $0.connections >= 1 && $0.since != nil })
                running.cancel()
                #expect(await eventually(10) { (try? await mine().map(\.node)) == [tag + "-a"] }, "a stopped replica drops out")
            }
        }
    }

    @Test func appendOnlyTriggersRejectUpdateDeleteAndTruncate() async throws {
        try await Self.withLog { log in
            let stream = try Self.stream()
            _ = try await log.append([EventLogConformance.event()], to: stream, expectedVersion: 0)
            try await Self.withRawConnection { connection in
                await #expect(throws: (any Error).self) {
                    try await connection.query("UPDATE token_events SET type = 'x' WHERE project = \(stream.project)", logger: Logger(label: "raw"))
                }
                await #expect(throws: (any Error).self) {
                    try await connection.query("DELETE FROM token_events WHERE project = \(stream.project)", logger: Logger(label: "raw"))
                }
                await #expect(throws: (any Error).self) {
                    try await connection.query("TRUNCATE token_events", logger: Logger(label: "raw"))
                }
            }
            #expect(try await log.read(stream: stream, afterVersion: 0, limit: 10).count == 1)
        }
    }

    /// The late-fill bug: a transaction holds a position without committing while a later one
    /// commits. The reader must not move past the held position.
    @Test(.timeLimit(.minutes(1)))
    func readerNeverMovesPastAnUncommittedPosition() async throws {
        try await Self.withLog { log in
            let head = try await log.readAll(after: 0, limit: 1_000_000).last?.position ?? 0
            let stream = try Self.stream()
            let other = try Self.stream()
            try await Self.withRawConnection { held in
                let logger = Logger(label: "raw")
                // Exactly what append does, left uncommitted: take the append lock, insert.
                try await held.query("BEGIN", logger: logger)
                try await held.query("SELECT pg_advisory_xact_lock(21581, 0)", logger: logger)
                try await held.query(
                    """
                    INSERT INTO token_events (project, platform, appid, version, type, data, metadata)
                    VALUES (\(stream.project), 'wechat', 'wx1', 1, 'token.refresh_failed', '{}'::jsonb, '{"node":"held"}'::jsonb)
                    """,
                    logger: logger
                )
                // A later append starts while the first is open.
                let later = Task { try await log.append([EventLogConformance.event()], to: other, expectedVersion: 0) }
                try await Task.sleep(for: .milliseconds(500))
                let during = try await log.readAll(after: head, limit: 100)
                #expect(during.isEmpty, "nothing after the held position is visible while it is open")
                try await held.query("COMMIT", logger: logger)
                let recorded = try await later.value
                let after = try await log.readAll(after: head, limit: 100).filter { [stream, other].contains($0.stream) }
                #expect(after.map(\.stream) == [stream, other], "the held event comes first, then the later one")
                #expect(after.last?.position == recorded.first?.position)
            }
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func followerUnderConcurrentAppendsFromManyConnectionsSkipsNothing() async throws {
        try await Self.withLog { log in
            let streams = try (0..<4).map { _ in try Self.stream() }
            try await EventLogConformance.followerUnderConcurrentAppendsSkipsNothing(log, streams: streams, writers: 8, appendsEach: 25)
        }
    }

    @Test func lastTokenEventsAreEachStreamsLast() async throws {
        try await Self.withLog { log in
            try await EventLogConformance.lastTokenEventsAreEachStreamsLast(log, project: "conformance\(UInt32.random(in: 0...UInt32.max))")
        }
    }

    @Test func conflictingAppendsLetExactlyOneWin() async throws {
        try await Self.withLog { log in try await EventLogConformance.conflictingAppendsLetExactlyOneWin(log, stream: try Self.stream()) }
    }

    /// NOTIFY is a wake-up: after the listener's connection is dropped, events appended during the
    /// outage are still found, because every reconnect is followed by a catch-up.
    @Test(.timeLimit(.minutes(1)))
    func projectorCatchesUpAfterItsListenerIsDropped() async throws {
        try await Self.withLog { log in
            let key = Sealer.generateKey()
            let sealer = try Sealer(current: "k", keys: ["k": key])
            let model = MemoryReadModel(sealer: sealer)
            // A poll far slower than the test: only LISTEN and reconnect catch-ups can bring events.
            let projector = Projector(log: log, model: model, pollInterval: .seconds(600), logger: Logger(label: "projector"))
            let running = Task { try await projector.run() }
            defer { running.cancel() }
            try await projector.catchUp()
            let stream = try Self.stream()
            let first = try await log.append([EventLogConformance.event()], to: stream, expectedVersion: 0)
            #expect(await eventually(5) { model.checkpoint >= first[0].position })
            // The drop must really happen: a pattern that matches no backend would let the catch-up
            // below pass on a listener that was never touched.
            let terminated = try await Self.withRawConnection { connection in
                var terminated: [Bool] = []
                for _ in 0..<50 where !terminated.contains(true) {
                    let rows = try await connection.query(
                        """
                        SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                        WHERE datname = current_database() AND query ILIKE 'LISTEN %' AND pid <> pg_backend_pid()
                        """,
                        logger: Logger(label: "raw")
                    )
                    terminated = try await rows.decode(Bool.self).reduce(into: []) { $0.append($1) }
                    if !terminated.contains(true) { try await Task.sleep(for: .milliseconds(100)) }
                }
                return terminated
            }
            try #require(terminated.contains(true), "a LISTEN backend was terminated: \(terminated)")
            let second = try await log.append([EventLogConformance.event()], to: stream, expectedVersion: 1)
            #expect(await eventually(10) { model.checkpoint >= second[0].position })
            #expect(model.state(of: stream)?.version == 2)
        }
    }
}

/// The refresh lock's fence against a real server: a lock whose backend was terminated while its
/// holder lives makes the holder's append fail, and nothing it appended becomes visible.
@Suite(.serialized)
struct RefreshFenceTests {
    @Test(.timeLimit(.minutes(1)))
    func anAppendUnderALockWhoseBackendWasTerminatedFailsAndRecordsNothing() async throws {
        let url = try PostgresEventLogTests.url()
        try await PostgresEventLogTests.withLog { log in
            let stream = try StreamID(project: "fence\(UInt32.random(in: 0...UInt32.max))", platform: "wechat", appid: "wx1")
            let started = ContinuousClock.now
            await #expect(throws: LedgerError.self) {
                try await log.withRefreshLock(on: stream) { fence in
                    #expect(try TestServers.terminateRefreshLockHolders(url) == 1)
                    try await Task.sleep(for: .milliseconds(200))
                    _ = try await fence.append([EventLogConformance.event()], to: stream, expectedVersion: 0)
                }
            }
            let elapsed = ContinuousClock.now - started
            #expect(elapsed < .seconds(2), "the lost lock is noticed at the append, not at a timeout: \(elapsed)")
            #expect(try await log.read(stream: stream, afterVersion: 0, limit: 10).isEmpty)
            // The stream is free again, and a fenced append under a held lock is visible once released.
            try await log.withRefreshLock(on: stream) { fence in
                _ = try await fence.append([EventLogConformance.event()], to: stream, expectedVersion: 0)
                #expect(try await log.read(stream: stream, afterVersion: 0, limit: 10).isEmpty, "not visible before the lock is released")
            }
            #expect(try await log.read(stream: stream, afterVersion: 0, limit: 10).count == 1)
        }
    }

    /// The backend holding this node's refresh lock now: its only connection inside a transaction.
    static func lockHolder(node: String, on connection: PostgresConnection) async throws -> Int32? {
        let rows = try await connection.query(
            """
            SELECT pid FROM pg_stat_activity
            WHERE application_name = \("tokenledger:" + node) AND state = 'idle in transaction'
            """,
            logger: Logger(label: "raw")
        )
        for try await pid in rows.decode(Int32.self) { return pid }
        return nil
    }

    /// A refresh lock's connection is kept for the next one (a new connection is a new server
    /// process), and one whose backend was terminated while it was kept is replaced at once.
    @Test(.timeLimit(.minutes(1)))
    func lockConnectionsAreKeptAndOneTerminatedWhileKeptIsReplaced() async throws {
        let node = "locks-\(UInt32.random(in: 0...UInt32.max))"
        let log = try PostgresEventLog(url: try PostgresEventLogTests.url(), logger: Logger(label: "locks"), timeout: .seconds(10), node: node)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await log.run() }
            defer { group.cancelAll() }
            try await PostgresEventLogTests.withRawConnection { raw in
                let project = "locks\(UInt32.random(in: 0...UInt32.max))"
                var holders: [Int32] = []
                for index in 0..<10 {
                    let stream = try StreamID(project: project, platform: "wechat", appid: "wx\(index)")
                    let holder = try await log.withRefreshLock(on: stream) { fence in
                        _ = try await fence.append([EventLogConformance.event()], to: stream, expectedVersion: 0)
                        return try await Self.lockHolder(node: node, on: raw)
                    }
                    holders.append(try #require(holder))
                }
                #expect(Set(holders).count == 1, "ten refreshes, one after the other, on one connection: \(holders)")

                // Terminated while kept (idle, its lock released): the next refresh takes a new one.
                let kept = try #require(holders.first)
                _ = try await raw.query("SELECT pg_terminate_backend(\(kept))", logger: Logger(label: "raw"))
                try await Task.sleep(for: .milliseconds(200))
                let stream = try StreamID(project: project, platform: "wechat", appid: "after")
                let holder = try await log.withRefreshLock(on: stream) { fence in
                    _ = try await fence.append([EventLogConformance.event()], to: stream, expectedVersion: 0)
                    return try await Self.lockHolder(node: node, on: raw)
                }
                #expect(holder != nil && holder != kept)
                #expect(try await log.read(stream: stream, afterVersion: 0, limit: 10).count == 1, "the refresh after it recorded its event")
            }
        }
    }

    /// A kept lock connection whose path stops moving bytes (a proxy that pauses) is given up at
    /// the log's timeout, not held for the lock's: the refresh fails with nothing recorded, and
    /// once bytes move again the next one takes its lock and records.
    @Test(.timeLimit(.minutes(1)))
    func aKeptLockConnectionThatStopsMovingBytesFailsAtTheTimeoutAndRecordsNothing() async throws {
        let target = try #require(URLComponents(string: try PostgresEventLogTests.url()))
        let proxy = try TCPProxy(to: try #require(target.port))
        var through = target
        through.port = proxy.port
        let log = try PostgresEventLog(url: try #require(through.string), logger: Logger(label: "paused"), timeout: .seconds(2))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await log.run() }
            defer { group.cancelAll() }
            let project = "paused\(UInt32.random(in: 0...UInt32.max))"
            let kept = try StreamID(project: project, platform: "wechat", appid: "first")
            try await log.withRefreshLock(on: kept) { fence in
                _ = try await fence.append([EventLogConformance.event()], to: kept, expectedVersion: 0)
            }
            proxy.pause()
            let stream = try StreamID(project: project, platform: "wechat", appid: "second")
            let started = ContinuousClock.now
            let ran = Atomic<Bool>(false)
            await #expect(throws: LedgerError.self) {
                try await log.withRefreshLock(on: stream) { _ in ran.store(true, ordering: .relaxed) }
            }
            let elapsed = ContinuousClock.now - started
            let bodyRan = ran.load(ordering: .relaxed)
            #expect(!bodyRan, "no refresh ran without its lock")
            #expect(elapsed < .seconds(15), "given up at the log's timeout (2 s, then 2 s for a new connection), not the lock's 30 s: \(elapsed)")
            proxy.resume()
            try await log.withRefreshLock(on: stream) { fence in
                _ = try await fence.append([EventLogConformance.event()], to: stream, expectedVersion: 0)
            }
            #expect(try await log.read(stream: stream, afterVersion: 0, limit: 10).count == 1)
        }
    }
}
