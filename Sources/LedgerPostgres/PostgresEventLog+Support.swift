#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import PostgresNIO
import TokenLedger

extension PostgresEventLog {
    static let columns = """
        position, project, platform, appid, version, type, data::text, metadata::text,
        (extract(epoch FROM recorded_at) * 1000)::bigint
        """

    static func decode(_ rows: PostgresRowSequence) async throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        for try await (position, project, platform, appid, version, type, data, metadata, recordedAt) in rows.decode(
            (Int64, String, String, String, Int64, String, String, String, Int64).self
        ) {
            guard let eventType = EventType(rawValue: type) else {
                throw LedgerError(.corruptEvent, "event \(position) has unknown type '\(type)'")
            }
            events.append(
                RecordedEvent(
                    position: position,
                    stream: try StreamID(project: project, platform: platform, appid: appid),
                    version: version,
                    type: eventType,
                    data: Data(data.utf8),
                    metadata: try EventCoding.decode(EventMetadata.self, from: Data(metadata.utf8), position: position),
                    recordedAt: Date(timeIntervalSince1970: Double(recordedAt) / 1000)
                )
            )
        }
        return events
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// BEGIN … COMMIT on one pooled connection, rolling back on error and rethrowing the
    /// original error (postgres-nio's `withTransaction` wraps it).
    func transaction<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await connection.query("BEGIN", logger: self.logger)
            do {
                let value = try await body(connection)
                try await connection.query("COMMIT", logger: self.logger)
                return value
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
    }

    /// Runs `body` within `timeout`, mapping every failure but a `LedgerError` (a version conflict)
    /// or a `SchemaFailure` to `.storeUnavailable` so that callers see one error for "the log is not there".
    func guarded<T: Sendable>(_ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await withinTimeout(what, body)
        } catch let error as LedgerError {
            throw error
        } catch let failure as SchemaFailure {
            throw failure
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            logger.warning("event log \(what) failed", metadata: [LogKey.error: "\(String(reflecting: error))"])
            throw LedgerError(.storeUnavailable, "the event log (PostgreSQL) is unavailable")
        }
    }

    func withinTimeout<T: Sendable>(_ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: self.timeout)
                throw LedgerError(.storeUnavailable, "the event log (PostgreSQL) did not answer \(what) within \(self.timeout)")
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            return first
        }
    }
}
