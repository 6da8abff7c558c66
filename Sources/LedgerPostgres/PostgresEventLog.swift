#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import Logging
import PostgresNIO
public import TokenLedger

/// The event log on PostgreSQL: `token_events`, appends serialised by an advisory lock so that
/// positions become visible in order, NOTIFY on commit, per-stream advisory refresh locks.
///
/// Run `run()` for as long as the log is used (its connection pools live there).
public final class PostgresEventLog: EventLog {
    /// The NOTIFY channel appends signal on.
    static let channel = "token_events"
    /// Advisory lock class ids: "TL" + 0, 1, 2.
    static let refreshLockClass: Int32 = 21580
    static let appendLockClass: Int32 = 21581
    static let migrationLockClass: Int32 = 21582
    static let leaderLockClass: Int32 = 21583

    let url: PostgresURL
    let client: PostgresClient
    let logger: Logger
    let timeout: Duration
    let lockTimeout: Duration

    /// Creates the log for `url`. `timeout` bounds every query (so a lost server is an error,
    /// not a hang); `lockTimeout` bounds waiting for another replica's refresh.
    public init(url: String, logger: Logger, timeout: Duration = .seconds(5), lockTimeout: Duration = .seconds(30)) throws {
        self.url = try PostgresURL(url)
        var configuration = self.url.clientConfiguration
        configuration.options.maximumConnections = 20
        configuration.options.connectTimeout = .seconds(3)
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        self.timeout = timeout
        self.lockTimeout = lockTimeout
    }

    /// Runs the connection pool until cancelled.
    public func run() async {
        await client.run()
    }

    /// Checks that the server answers, within `timeout`.
    public func ping() async throws {
        _ = try await guarded("ping") {
            try await self.client.query("SELECT 1", logger: self.logger)
        }
    }

    public func append(_ events: [NewEvent], to stream: StreamID, expectedVersion: Int64) async throws -> [RecordedEvent] {
        guard !events.isEmpty else { return [] }
        let rows: [(Int64, Int64)] = try await guarded("append") {
            try await self.transaction { connection in
                // Serialises appends: taken before any position is assigned, held until commit.
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.appendLockClass), 0)", logger: self.logger)
                var recorded: [(Int64, Int64)] = []
                for (offset, event) in events.enumerated() {
                    let data = String(decoding: event.data, as: UTF8.self)
                    let metadata = String(decoding: try EventCoding.encode(event.metadata), as: UTF8.self)
                    let version = expectedVersion + Int64(offset)
                    // One statement while the lock is held: the version check (a fresh snapshot,
                    // taken after the lock), the insert, and the wake-up delivered at commit.
                    let inserted = try await connection.query(
                        """
                        WITH inserted AS (
                            INSERT INTO token_events (project, platform, appid, version, type, data, metadata)
                            SELECT \(stream.project), \(stream.platform), \(stream.appid), \(version + 1),
                                   \(event.type.rawValue), \(data)::jsonb, \(metadata)::jsonb
                            WHERE (SELECT coalesce(max(version), 0) FROM token_events
                                   WHERE project = \(stream.project) AND platform = \(stream.platform) AND appid = \(stream.appid)) = \(version)
                            RETURNING position, recorded_at
                        )
                        SELECT position, (extract(epoch FROM recorded_at) * 1000)::bigint, pg_notify(\(Self.channel), position::text)::text
                        FROM inserted
                        """,
                        logger: self.logger
                    )
                    var row: (Int64, Int64)?
                    for try await (position, milliseconds, _) in inserted.decode((Int64, Int64, String).self) { row = (position, milliseconds) }
                    guard let row else {
                        let current = try await connection.query(
                            """
                            SELECT coalesce(max(version), 0)::bigint FROM token_events
                            WHERE project = \(stream.project) AND platform = \(stream.platform) AND appid = \(stream.appid)
                            """,
                            logger: self.logger
                        )
                        var actual: Int64 = 0
                        for try await (value) in current.decode(Int64.self) { actual = value }
                        throw LedgerError(.versionConflict, "\(stream) is at version \(actual), not \(expectedVersion)")
                    }
                    recorded.append(row)
                }
                return recorded
            }
        }
        return zip(events, rows).enumerated().map { offset, pair in
            RecordedEvent(
                position: pair.1.0,
                stream: stream,
                version: expectedVersion + Int64(offset) + 1,
                type: pair.0.type,
                data: pair.0.data,
                metadata: pair.0.metadata,
                recordedAt: Date(timeIntervalSince1970: Double(pair.1.1) / 1000)
            )
        }
    }

    public func read(stream: StreamID, afterVersion: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await guarded("read stream") {
            let rows = try await self.client.query(
                """
                SELECT \(unescaped: Self.columns) FROM token_events
                WHERE project = \(stream.project) AND platform = \(stream.platform) AND appid = \(stream.appid)
                  AND version > \(afterVersion)
                ORDER BY version LIMIT \(Int64(limit))
                """,
                logger: self.logger
            )
            return try await Self.decode(rows)
        }
    }

    public func readAll(after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await guarded("read all") {
            let rows = try await self.client.query(
                "SELECT \(unescaped: Self.columns) FROM token_events WHERE position > \(position) ORDER BY position LIMIT \(Int64(limit))",
                logger: self.logger
            )
            return try await Self.decode(rows)
        }
    }

    public func withRefreshLock<T: Sendable>(on stream: StreamID, _ body: @Sendable () async throws -> T) async throws -> T {
        // A connection of its own, not a pooled one: it is held across a platform call while the
        // same refresh appends through the pool, and connecting is bounded by `timeout` where a
        // pool lease is not. The lock is transaction-scoped: if this process dies, its connection
        // closes, the transaction aborts and the lock is released, so a killed replica never
        // blocks a stream.
        let connection = try await guarded("refresh lock connect") {
            try await PostgresConnection.connect(configuration: self.url.connectionConfiguration, id: 1, logger: self.logger)
        }
        do {
            try await guarded("refresh lock") {
                try await connection.query("BEGIN", logger: self.logger)
                try await connection.query("SET LOCAL lock_timeout = \(unescaped: "'\(Self.milliseconds(self.lockTimeout))ms'")", logger: self.logger)
                try await connection.query(
                    "SELECT pg_advisory_xact_lock(\(Self.refreshLockClass), hashtext(\(stream.description)))",
                    logger: self.logger
                )
            }
        } catch {
            try? await connection.close()
            throw error
        }
        do {
            let value = try await body()
            _ = try? await connection.query("COMMIT", logger: logger)
            try? await connection.close()
            return value
        } catch {
            try? await connection.close()
            throw error
        }
    }

    public func listen(_ wake: @escaping @Sendable () -> Void) async throws {
        let connection = try await guarded("listen connect") {
            try await PostgresConnection.connect(configuration: self.url.connectionConfiguration, id: 0, logger: self.logger)
        }
        do {
            try await connection.listen(on: Self.channel) { notifications in
                // LISTEN is in place: catch up now, so nothing committed while we were away is missed.
                wake()
                for try await _ in notifications { wake() }
            }
            try? await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

extension PostgresEventLog: LeaderElection {
    /// Leadership is a session advisory lock on a connection of its own, checked every second:
    /// if this process dies its connection closes and the lock is free; if the connection is
    /// lost, `body` is cancelled before another process can have taken over for long.
    public func lead<T: Sendable>(_ role: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T? {
        let connection = try await guarded("leadership connect") {
            try await PostgresConnection.connect(configuration: self.url.connectionConfiguration, id: 2, logger: self.logger)
        }
        let held: Bool
        do {
            held = try await guarded("leadership") {
                let rows = try await connection.query(
                    "SELECT pg_try_advisory_lock(\(Self.leaderLockClass), hashtext(\(role)))",
                    logger: self.logger
                )
                for try await locked in rows.decode(Bool.self) { return locked }
                return false
            }
        } catch {
            try? await connection.close()
            throw error
        }
        guard held else {
            try? await connection.close()
            return nil
        }
        do {
            let value = try await withThrowingTaskGroup(of: T.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    while true {
                        try await Task.sleep(for: .seconds(1))
                        _ = try await self.withinTimeout("leadership check") {
                            try await connection.query("SELECT 1", logger: self.logger)
                        }
                    }
                }
                defer { group.cancelAll() }
                guard let first = try await group.next() else { throw CancellationError() }
                return first
            }
            try? await connection.close()
            return value
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
