import Logging
import PostgresNIO
import Synchronization
import TokenLedger

/// The fence of a PostgreSQL refresh lock: appends run inside the lock's own transaction, on
/// its connection, so they commit only if the lock is still held when the refresh ends. If the
/// lock's backend was terminated (a restart, a failover, `pg_terminate_backend`,
/// `idle_in_transaction_session_timeout`) the append or the commit fails and nothing is recorded.
final class PostgresFence: RefreshFence {
    private let log: PostgresEventLog
    private let connection: PostgresConnection
    private let appended = Atomic<Bool>(false)

    init(log: PostgresEventLog, connection: PostgresConnection) {
        self.log = log
        self.connection = connection
    }

    func append(_ events: [NewEvent], to stream: StreamID, expectedVersion: Int64) async throws -> [RecordedEvent] {
        guard !events.isEmpty else { return [] }
        do {
            let recorded = try await log.withDeadline("fenced append", log.timeout, closing: connection) {
                try await self.log.append(events, to: stream, expectedVersion: expectedVersion, on: self.connection)
            }
            appended.store(true, ordering: .releasing)
            return recorded
        } catch let error as LedgerError where error.code == .versionConflict {
            // The transaction is aborted by the failed statement: nothing more can be appended
            // under this lock, which the caller learns as a lost lock if it tries.
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            log.logger.warning("refresh lock lost before its append", metadata: [LogKey.stream: "\(stream)", LogKey.error: "\(String(reflecting: error))"])
            throw LedgerError(.lockLost, "the refresh lock of \(stream) was lost before its outcome was recorded")
        }
    }

    /// Commits what was appended; a failed commit means the lock was lost and nothing was recorded.
    /// Returns whether the connection is left outside any transaction, ready for another lock.
    @discardableResult
    func commit() async throws -> Bool {
        guard appended.load(ordering: .acquiring) else {
            let committed = try? await log.withDeadline("lock release", log.timeout, closing: connection) {
                try await self.connection.query("COMMIT", logger: self.log.logger)
            }
            return committed != nil && !connection.isClosed
        }
        do {
            _ = try await log.withDeadline("fenced commit", log.timeout, closing: connection) {
                try await self.connection.query("COMMIT", logger: self.log.logger)
            }
            return !connection.isClosed
        } catch {
            log.logger.warning("refresh lock lost at commit", metadata: [LogKey.error: "\(String(reflecting: error))"])
            throw LedgerError(.lockLost, "the refresh lock was lost before its outcome was committed")
        }
    }
}
