import Foundation
public import Logging
import NIOCore
import SQLiteNIO
public import TokenLedger

/// The embedded log: one SQLite file, for a single node with no servers.
///
/// SQLite serialises writers and positions are assigned inside the write transaction, and this
/// process runs one transaction at a time besides, so a reader never sees a later position before
/// an earlier one has committed. Reads go through a connection of their own: a connection sees the
/// rows of its own open transaction, so reading on the writer's would show an append's first
/// events before its commit, and show them even if it then rolls back; in WAL mode another
/// connection sees only committed transactions, without waiting for the writer.
public final class SQLiteEventLog: EventLog {
    /// Appends only, one transaction at a time.
    let connection: SQLiteConnection
    /// Every read (`query_only`).
    let reader: SQLiteConnection
    private let logger: Logger
    /// One transaction at a time on the writing connection (a connection is not a transaction scope).
    let writer = AsyncLock()
    /// Per-stream refresh locks: a single node has no other process to exclude.
    private let refreshLocks = StreamLocks()
    private let wakeUps = WakeUps()

    private init(connection: SQLiteConnection, reader: SQLiteConnection, logger: Logger) {
        self.connection = connection
        self.reader = reader
        self.logger = logger
    }

    /// Opens (creating if needed) the log at `path`.
    public static func open(path: String, logger: Logger) async throws -> SQLiteEventLog {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        do {
            for statement in Self.schema {
                _ = try await connection.query(statement, [])
            }
            let reader = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            do {
                for statement in ["PRAGMA busy_timeout=5000", "PRAGMA query_only=1"] {
                    _ = try await reader.query(statement, [])
                }
                return SQLiteEventLog(connection: connection, reader: reader, logger: logger)
            } catch {
                try? await reader.close()
                throw error
            }
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Closes the file.
    public func close() async throws {
        try await reader.close()
        try await connection.close()
    }

    static let schema = [
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA busy_timeout=5000",
        """
        CREATE TABLE IF NOT EXISTS token_events (
            position INTEGER PRIMARY KEY AUTOINCREMENT,
            project TEXT NOT NULL, platform TEXT NOT NULL, appid TEXT NOT NULL,
            version INTEGER NOT NULL CHECK (version > 0),
            type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL,
            recorded_at INTEGER NOT NULL,
            UNIQUE (project, platform, appid, version)
        )
        """,
        // Append-only by construction: these triggers reject any change to a recorded event.
        """
        CREATE TRIGGER IF NOT EXISTS token_events_no_update BEFORE UPDATE ON token_events
        BEGIN SELECT RAISE(ABORT, 'token_events is append-only'); END
        """,
        """
        CREATE TRIGGER IF NOT EXISTS token_events_no_delete BEFORE DELETE ON token_events
        BEGIN SELECT RAISE(ABORT, 'token_events is append-only'); END
        """,
        // Snapshots of the memory model (`MemorySnapshotWriter`): derived, never the record.
        """
        CREATE TABLE IF NOT EXISTS memory_snapshots (
            position INTEGER PRIMARY KEY CHECK (position > 0),
            format INTEGER NOT NULL, key_ids TEXT NOT NULL, node TEXT NOT NULL, state BLOB NOT NULL,
            written_at INTEGER NOT NULL
        )
        """,
    ]

    public func append(_ events: [NewEvent], to stream: StreamID, expectedVersion: Int64) async throws -> [RecordedEvent] {
        guard !events.isEmpty else { return [] }
        let recorded: [RecordedEvent] = try await writer.withLock {
            try await self.storeErrors {
                _ = try await self.connection.query("BEGIN IMMEDIATE", [])
                do {
                    let rows = try await self.connection.query(
                        "SELECT coalesce(max(version), 0) AS v FROM token_events WHERE project = ? AND platform = ? AND appid = ?",
                        [.text(stream.project), .text(stream.platform), .text(stream.appid)]
                    )
                    let current = Int64(rows.first?.column("v")?.integer ?? 0)
                    guard current == expectedVersion else {
                        throw LedgerError(.versionConflict, "\(stream) is at version \(current), not \(expectedVersion)")
                    }
                    var recorded: [RecordedEvent] = []
                    let now = Date()
                    let millis = Int64((now.timeIntervalSince1970 * 1000).rounded())
                    for (offset, event) in events.enumerated() {
                        let version = expectedVersion + Int64(offset) + 1
                        let metadata = String(decoding: try EventCoding.encode(event.metadata), as: UTF8.self)
                        let inserted = try await self.connection.query(
                            """
                            INSERT INTO token_events (project, platform, appid, version, type, data, metadata, recorded_at)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING position
                            """,
                            [
                                .text(stream.project), .text(stream.platform), .text(stream.appid), .integer(Int(version)),
                                .text(event.type.rawValue), .text(String(decoding: event.data, as: UTF8.self)), .text(metadata),
                                .integer(Int(millis)),
                            ]
                        )
                        guard let position = inserted.first?.column("position")?.integer else {
                            throw LedgerError(.storeUnavailable, "SQLite returned no position")
                        }
                        recorded.append(
                            RecordedEvent(
                                position: Int64(position), stream: stream, version: version, type: event.type,
                                data: event.data, metadata: event.metadata, recordedAt: Date(timeIntervalSince1970: Double(millis) / 1000)
                            )
                        )
                    }
                    _ = try await self.connection.query("COMMIT", [])
                    return recorded
                } catch {
                    _ = try? await self.connection.query("ROLLBACK", [])
                    throw error
                }
            }
        }
        wakeUps.wakeAll()
        return recorded
    }

    public func read(stream: StreamID, afterVersion: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await storeErrors {
            try Self.decode(
                try await self.reader.query(
                    """
                    SELECT \(Self.columns) FROM token_events WHERE project = ? AND platform = ? AND appid = ? AND version > ?
                    ORDER BY version LIMIT ?
                    """,
                    [.text(stream.project), .text(stream.platform), .text(stream.appid), .integer(Int(afterVersion)), .integer(limit)]
                )
            )
        }
    }

    public func readAll(after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await storeErrors {
            try Self.decode(
                try await self.reader.query(
                    "SELECT \(Self.columns) FROM token_events WHERE position > ? ORDER BY position LIMIT ?",
                    [.integer(Int(position)), .integer(limit)]
                )
            )
        }
    }

    public func lastTokenEventPositions(after position: Int64) async throws -> (positions: [Int64], head: Int64) {
        let types = EventType.allCases.filter(\.decidesServedToken).map { SQLiteData.text($0.rawValue) }
        return try await storeErrors {
            // One writer commits at a time: every position up to the head is settled.
            let head = try await self.reader.query("SELECT coalesce(max(position), 0) AS head FROM token_events", []).first?.column("head")?.integer
            let through = max(position, Int64(head ?? 0))
            let rows = try await self.reader.query(
                """
                SELECT max(position) AS position FROM token_events WHERE position > ? AND position <= ? AND type IN (\(Self.placeholders(types.count)))
                GROUP BY project, platform, appid ORDER BY 1
                """,
                [.integer(Int(position)), .integer(Int(through))] + types
            )
            return (rows.compactMap { $0.column("position")?.integer.map(Int64.init) }, through)
        }
    }

    public func readEvents(at positions: [Int64]) async throws -> [RecordedEvent] {
        try await storeErrors {
            var events: [RecordedEvent] = []
            // Within SQLite's limit on bound values a statement.
            for start in stride(from: 0, to: positions.count, by: 500) {
                let chunk = positions[start..<min(positions.count, start + 500)]
                events += try Self.decode(
                    try await self.reader.query(
                        "SELECT \(Self.columns) FROM token_events WHERE position IN (\(Self.placeholders(chunk.count))) ORDER BY position",
                        chunk.map { .integer(Int($0)) }
                    )
                )
            }
            return events
        }
    }

    private static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }

    public func withRefreshLock<T: Sendable>(on stream: StreamID, _ body: @Sendable (any RefreshFence) async throws -> T) async throws -> T {
        try await refreshLocks.withLock(on: stream) { try await body(InProcessFence(log: self)) }
    }

    /// Streams whose in-process refresh lock is held or awaited.
    public var heldRefreshLocks: Int { refreshLocks.count }

    public func listen(_ wake: @escaping @Sendable () -> Void) async throws {
        try await wakeUps.listen(wake)
    }

    static let columns = "position, project, platform, appid, version, type, data, metadata, recorded_at"

    static func decode(_ rows: [SQLiteRow]) throws -> [RecordedEvent] {
        try rows.map { row in
            guard let position = row.column("position")?.integer,
                let project = row.column("project")?.string,
                let platform = row.column("platform")?.string,
                let appid = row.column("appid")?.string,
                let version = row.column("version")?.integer,
                let type = row.column("type")?.string.flatMap(EventType.init(rawValue:)),
                let data = row.column("data")?.string,
                let metadata = row.column("metadata")?.string,
                let recordedAt = row.column("recorded_at")?.integer
            else {
                throw LedgerError(.corruptEvent, "an event row of the SQLite log is incomplete")
            }
            return RecordedEvent(
                position: Int64(position),
                stream: try StreamID(project: project, platform: platform, appid: appid),
                version: Int64(version),
                type: type,
                data: Data(data.utf8),
                metadata: try EventCoding.decode(EventMetadata.self, from: Data(metadata.utf8), position: Int64(position)),
                recordedAt: Date(timeIntervalSince1970: Double(recordedAt) / 1000)
            )
        }
    }

    func storeErrors<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as LedgerError {
            throw error
        } catch is CancellationError {
            throw CancellationError()  // the caller stopped (a shutdown): not a failure of the log
        } catch {
            logger.warning("SQLite event log failed", metadata: [LogKey.error: "\(String(reflecting: error))"])
            throw LedgerError(.storeUnavailable, "the event log (SQLite) failed")
        }
    }
}
