#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import Logging
import PostgresNIO
import Synchronization
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
    /// The append lock's class; `token_events_append` (migration 006) takes it.
    static let appendLockClass: Int32 = 21581
    static let migrationLockClass: Int32 = 21582
    static let leaderLockClass: Int32 = 21583

    let url: PostgresURL
    let client: PostgresClient
    let logger: Logger
    let timeout: Duration
    let lockTimeout: Duration
    let lockPermits: ConnectionPermits
    /// Lock connections whose last lock was committed, kept for the next refresh (a new
    /// connection is a new server process: at a burst of refreshes, most of their cost).
    /// Nil once `run()` ended: a connection released then is closed, not kept.
    let idleLockConnections = Mutex<[PostgresConnection]?>([])
    let dedicatedConfiguration: PostgresConnection.Configuration
    let groupCommit = GroupCommit()

    /// Creates the log for `url`. `timeout` bounds every query (so a lost server is an error,
    /// not a hang); `lockTimeout` bounds waiting for another replica's refresh, and how long a
    /// refresh may hold its lock; `lockConnections` bounds the connections refresh locks hold.
    public init(
        url: String,
        logger: Logger,
        timeout: Duration = .seconds(5),
        lockTimeout: Duration = .seconds(30),
        poolConnections: Int = 20,
        lockConnections: Int = 16,
        node: String? = nil
    ) throws {
        self.url = try PostgresURL(url)
        var configuration = self.url.clientConfiguration
        configuration.options.maximumConnections = max(2, poolConnections)
        configuration.options.connectTimeout = .seconds(3)
        // A pooled transaction is never idle for long (a group-committed append is one statement
        // that holds the append lock only while it runs): one whose client stopped answering
        // mid-transaction (a half-open network) must not keep its locks for longer than a few timeouts.
        let parameters = Self.startupParameters(node: node)
        configuration.options.additionalStartupParameters = parameters + [
            ("idle_in_transaction_session_timeout", String(max(Self.milliseconds(timeout) * 2, 2000)))
        ]
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        var lockConfiguration = self.url.connectionConfiguration
        lockConfiguration.options.connectTimeout = .seconds(3)
        lockConfiguration.options.additionalStartupParameters = parameters
        self.dedicatedConfiguration = lockConfiguration
        self.lockPermits = ConnectionPermits(lockConnections)
        self.logger = logger
        self.timeout = timeout
        self.lockTimeout = lockTimeout
    }

    /// The server probes an idle client every few seconds, so that the locks of a client that
    /// vanished without closing (a crashed host, a cut network) are released in ~20 s, not hours.
    /// The connections also name themselves (`tokenledger:<node>`), so that an operator, a test
    /// or the dashboard can tell which replicas are connected (`connectedReplicas()`).
    static func startupParameters(node: String?) -> [(String, String)] {
        // The server keeps 63 bytes of a name; keep whole characters.
        var name = "tokenledger:" + (node ?? "")
        while name.utf8.count > 63 { name.removeLast() }
        return [("application_name", name), ("tcp_keepalives_idle", "10"), ("tcp_keepalives_interval", "3"), ("tcp_keepalives_count", "3")]
    }

    /// Runs the connection pool until cancelled.
    public func run() async {
        await client.run()
        for connection in idleLockConnections.withLock({ idle in defer { idle = nil }; return idle ?? [] }) {
            try? await connection.close()
        }
    }

    /// Checks that the server answers, within `timeout`.
    public func ping() async throws {
        _ = try await guarded("ping") {
            try await self.client.query("SELECT 1", logger: self.logger)
        }
    }

    /// Appends through the group commit: waiting appends of this process share one transaction.
    public func append(_ events: [NewEvent], to stream: StreamID, expectedVersion: Int64) async throws -> [RecordedEvent] {
        guard !events.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            let append = GroupCommit.Append(events: events, stream: stream, expectedVersion: expectedVersion)
            let pending = GroupCommit.Pending(append: append, continuation: continuation)
            if groupCommit.submit(pending) {
                Task { await self.commitWaitingAppends() }
            }
        }
    }

    /// Commits batches until no append waits.
    private func commitWaitingAppends() async {
        while true {
            let batch = groupCommit.next()
            if batch.isEmpty { return }
            await commit(batch)
        }
    }

    /// What became of a batch's transaction.
    private enum BatchOutcome: Sendable {
        /// Committed: each append's events, or its version conflict.
        case committed([Result<[RecordedEvent], LedgerError>])
        /// The server refused the statement, which rolled the whole run back.
        case refused
    }

    /// Commits `batch` and answers each append: one `token_events_append` call (one statement,
    /// its own transaction: one round trip) for each run of appends to distinct streams. When the
    /// server refuses a call (nothing of its run is then committed), each append of the batch not
    /// yet answered is tried again alone, so that only the bad append fails.
    private func commit(_ batch: [GroupCommit.Pending]) async {
        var start = 0
        do {
            while start < batch.count {
                // A second append to a stream checks its version against the first one's events,
                // so it goes in the next call.
                var streams = Set<StreamID>()
                var end = start
                while end < batch.count, streams.insert(batch[end].append.stream).inserted { end += 1 }
                let run = batch[start..<end]
                let outcome = try await guarded("append") { () async throws -> BatchOutcome in
                    do {
                        return .committed(
                            try await self.client.withConnection { connection in
                                try await self.insert(run.map(\.append), on: connection)
                            }
                        )
                    } catch let error as PSQLError where error.serverInfo != nil && run.count > 1 {
                        return .refused
                    }
                }
                switch outcome {
                case .committed(let outcomes):
                    for (pending, result) in zip(run, outcomes) { pending.continuation.resume(with: result) }
                case .refused:
                    for pending in run { await commit([pending]) }
                }
                start = end
            }
        } catch {
            for pending in batch[start...] { pending.continuation.resume(throwing: error) }
        }
    }

    /// The events of appends to distinct streams in one `token_events_append` call (migration
    /// 006): the append lock, then each append's events inserted, in order, if its stream is at
    /// its expected version (a snapshot taken after the lock), else none of them and that append
    /// answers a version conflict. The wake-up of the other replicas rides on the same statement.
    private func insert(_ appends: [GroupCommit.Append], on connection: PostgresConnection) async throws -> [Result<[RecordedEvent], LedgerError>] {
        var (projects, platforms, appids, types, data, metadata) = ([String](), [String](), [String](), [String](), [String](), [String]())
        var (versions, expected) = ([Int64](), [Int64]())
        for pending in appends {
            for (offset, event) in pending.events.enumerated() {
                projects.append(pending.stream.project)
                platforms.append(pending.stream.platform)
                appids.append(pending.stream.appid)
                versions.append(pending.expectedVersion + Int64(offset) + 1)
                expected.append(pending.expectedVersion)
                types.append(event.type.rawValue)
                data.append(String(decoding: event.data, as: UTF8.self))
                metadata.append(String(decoding: try EventCoding.encode(event.metadata), as: UTF8.self))
            }
        }
        let rows = try await connection.query(
            """
            SELECT project, platform, appid, version, position, recorded_ms FROM token_events_append(
                \(projects)::text[], \(platforms)::text[], \(appids)::text[], \(versions)::int8[], \(expected)::int8[],
                \(types)::text[], \(data)::text[], \(metadata)::text[], \(Self.channel))
            """,
            logger: logger
        )
        struct Key: Hashable {
            let stream: StreamID
            let version: Int64
        }
        var inserted: [Key: (position: Int64, milliseconds: Int64)] = [:]
        for try await (project, platform, appid, version, position, milliseconds) in rows.decode((String, String, String, Int64, Int64, Int64).self) {
            inserted[Key(stream: try StreamID(project: project, platform: platform, appid: appid), version: version)] = (position, milliseconds)
        }
        var outcomes: [Result<[RecordedEvent], LedgerError>] = []
        for pending in appends {
            var recorded: [RecordedEvent] = []
            for (offset, event) in pending.events.enumerated() {
                let version = pending.expectedVersion + Int64(offset) + 1
                guard let row = inserted[Key(stream: pending.stream, version: version)] else { break }
                recorded.append(
                    RecordedEvent(
                        position: row.position, stream: pending.stream, version: version, type: event.type, data: event.data,
                        metadata: event.metadata, recordedAt: Date(timeIntervalSince1970: Double(row.milliseconds) / 1000)
                    )
                )
            }
            if recorded.count == pending.events.count {
                outcomes.append(.success(recorded))
            } else {
                outcomes.append(.failure(try await conflict(pending.stream, expectedVersion: pending.expectedVersion, on: connection)))
            }
        }
        return outcomes
    }

    /// The version conflict of an append to `stream` at `expectedVersion`, saying where it is.
    private func conflict(_ stream: StreamID, expectedVersion: Int64, on connection: PostgresConnection) async throws -> LedgerError {
        let current = try await connection.query(
            """
            SELECT coalesce(max(version), 0)::bigint FROM token_events
            WHERE project = \(stream.project) AND platform = \(stream.platform) AND appid = \(stream.appid)
            """,
            logger: logger
        )
        var actual: Int64 = 0
        for try await (value) in current.decode(Int64.self) { actual = value }
        return LedgerError(.versionConflict, "\(stream) is at version \(actual), not \(expectedVersion)")
    }

    /// An append inside a transaction of `connection` that the caller commits (a fenced append):
    /// the events as in a batch of one; the append lock is then held until that commit.
    func append(_ events: [NewEvent], to stream: StreamID, expectedVersion: Int64, on connection: PostgresConnection) async throws -> [RecordedEvent] {
        let append = GroupCommit.Append(events: events, stream: stream, expectedVersion: expectedVersion)
        return try await insert([append], on: connection)[0].get()
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

    public func withRefreshLock<T: Sendable>(on stream: StreamID, _ body: @Sendable (any RefreshFence) async throws -> T) async throws -> T {
        // A connection of its own from a bounded set: it is held across a platform call, and a
        // flood of refreshes must not take PostgreSQL's connections from everyone else.
        guard await lockPermits.acquire(timeout: lockTimeout) else {
            throw LedgerError(.storeUnavailable, "too many refreshes in flight (eventlog.lock_connections); retry shortly")
        }
        defer { lockPermits.release() }
        // A connection whose last lock was committed, or a new one. One kept idle may have been
        // closed meanwhile (a restart, `pg_terminate_backend`): before its lock is taken nothing
        // was done on it, so a new connection takes its place at once.
        let kept = idleLockConnections.withLock { $0?.popLast() }
        var connection: PostgresConnection
        if let kept { connection = kept } else { connection = try await connectDedicated("refresh lock connect", id: 1) }
        do {
            do {
                try await lock(stream, on: connection)
            } catch where kept != nil && connection.isClosed && !(error is CancellationError) {
                connection = try await connectDedicated("refresh lock connect", id: 1)
                logger.debug("a kept lock connection was closed: took a new one", metadata: [LogKey.error: "\(LedgerError.explain(error))"])
                try await lock(stream, on: connection)
            }
            let fence = PostgresFence(log: self, connection: connection)
            let value = try await body(fence)
            let reusable = try await fence.commit()
            let returned = reusable && idleLockConnections.withLock { idle in
                idle?.append(connection)
                return idle != nil
            }
            if !returned { try? await connection.close() }
            return value
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Takes the refresh lock of `stream` in a new transaction on `connection`.
    private func lock(_ stream: StreamID, on connection: PostgresConnection) async throws {
        do {
            // The lock is transaction-scoped: if this process dies or its backend is terminated,
            // the transaction aborts and the lock is released, so nobody blocks a stream for long.
            // The server bounds the wait (lock_timeout) and how long a refresh may hold the lock
            // idle (idle_in_transaction_session_timeout); the client bounds both again and closes
            // the connection at its deadline, since postgres-nio cannot cancel a query once sent.
            // The transaction begins within `timeout` (a kept connection that stopped answering is
            // known at once); only the wait for the lock may take `lockTimeout`.
            let waitMs = Self.milliseconds(lockTimeout)
            try await withDeadline("refresh lock transaction", timeout, closing: connection) {
                try await connection.query("BEGIN", logger: self.logger)
                try await connection.query(
                    """
                    SELECT set_config('lock_timeout', \(String(waitMs)), true),
                           set_config('statement_timeout', \(String(waitMs + Self.milliseconds(self.timeout))), true),
                           set_config('idle_in_transaction_session_timeout', \(String(waitMs)), true)
                    """,
                    logger: self.logger
                )
            }
            try await withDeadline("refresh lock", lockTimeout + timeout, closing: connection) {
                try await connection.query(
                    "SELECT pg_advisory_xact_lock(\(Self.refreshLockClass), hashtext(\(stream.description)))",
                    logger: self.logger
                )
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "55P03" {
            throw LedgerError(.storeUnavailable, "another replica is still refreshing \(stream) after eventlog.lock_timeout_ms; retry shortly")
        }
    }

    public func listen(_ wake: @escaping @Sendable () -> Void) async throws {
        try await withDedicatedConnection("listen connect", id: 0) { connection in
            try await connection.listen(on: Self.channel) { notifications in
                // LISTEN is in place: catch up now, so nothing committed while we were away is missed.
                wake()
                for try await _ in notifications { wake() }
            }
        }
    }
}

extension PostgresEventLog: LeaderElection {
    /// Leadership is a session advisory lock on a connection of its own, checked every second:
    /// if this process dies its connection closes and the lock is free; if the connection is
    /// lost, `body` is cancelled before another process can have taken over for long.
    public func lead<T: Sendable>(_ role: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T? {
        try await withDedicatedConnection("leadership connect", id: 2) { connection in
            let held = try await guarded("leadership") {
                let rows = try await connection.query(
                    "SELECT pg_try_advisory_lock(\(Self.leaderLockClass), hashtext(\(role)))",
                    logger: self.logger
                )
                for try await locked in rows.decode(Bool.self) { return locked }
                return false
            }
            guard held else { return nil }
            return try await withThrowingTaskGroup(of: T.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    // A terminated backend closes the connection at once: leadership ends then,
                    // not at the next check.
                    await ConnectionClosure.wait(for: connection)
                    throw LedgerError(.storeUnavailable, "the leadership connection to PostgreSQL was closed")
                }
                group.addTask {
                    while true {
                        try await Task.sleep(for: .seconds(1))
                        // Ends at once if the connection closed (its backend terminated): the lock is gone.
                        _ = try await self.withDeadline("leadership check", self.timeout, closing: connection) {
                            try await connection.query("SELECT 1", logger: self.logger)
                        }
                    }
                }
                defer { group.cancelAll() }
                guard let first = try await group.next() else { throw CancellationError() }
                return first
            }
        }
    }
}
