#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import PostgresNIO
public import TokenLedger

extension PostgresEventLog {
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
        let timeout = self.timeout
        return try await Deadline.run(
            within: timeout,
            onTimeout: { LedgerError(.storeUnavailable, "the event log (PostgreSQL) did not answer \(what) within \(timeout)") },
            body
        )
    }

    /// A connection of its own (a lock's, the listener's, a leader's), made within `timeout`. One
    /// that completes after its deadline (a server that paused, then answered) is closed, not leaked.
    func connectDedicated(_ what: String, id: Int) async throws -> PostgresConnection {
        try await guarded(what) {
            let connection = try await PostgresConnection.connect(configuration: self.dedicatedConfiguration, id: id, logger: self.logger)
            if Task.isCancelled {
                try? await connection.close()
                throw CancellationError()
            }
            return connection
        }
    }

    /// Runs `body` on a dedicated connection (`connectDedicated`), closed when `body` ends however it ends.
    func withDedicatedConnection<T: Sendable>(_ what: String, id: Int, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await connectDedicated(what, id: id)
        do {
            let value = try await body(connection)
            try? await connection.close()
            return value
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Runs `body` on `connection` within `duration`; past it, closes the connection (a query
    /// once sent cannot be cancelled, and a connection that stops answering must not be reused)
    /// and throws `.storeUnavailable`. A connection that closes meanwhile (its backend terminated)
    /// ends the wait at once: postgres-nio leaves a query on a closed connection waiting.
    func withDeadline<T: Sendable>(
        _ what: String,
        _ duration: Duration,
        closing connection: PostgresConnection,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let closed = LedgerError(.storeUnavailable, "the connection to the event log (PostgreSQL) was closed during \(what)")
        guard !connection.isClosed else { throw closed }
        do {
            return try await Deadline.run(
                within: duration,
                onTimeout: { LedgerError(.storeUnavailable, "the event log (PostgreSQL) did not answer \(what) within \(duration)") },
                abandon: { fail in connection.closeFuture.whenComplete { _ in fail(closed) } },
                body
            )
        } catch let error as LedgerError where error.code == .storeUnavailable {
            try? await connection.close()
            throw error
        }
    }
}

extension PostgresEventLog: ReplicaDirectory {
    /// The replicas with connections open to this database now, from `pg_stat_activity` (each
    /// names its connections `tokenledger:<node>`). `since` is nil for sessions of another role
    /// than this one's, which the server does not describe.
    public func connectedReplicas() async throws -> [ConnectedReplica] {
        try await guarded("replicas") {
            let rows = try await self.client.query(
                """
                SELECT substr(application_name, 13), count(*)::int8, min(backend_start) FROM pg_stat_activity
                WHERE application_name LIKE 'tokenledger:%' GROUP BY application_name ORDER BY application_name
                """,
                logger: self.logger
            )
            var replicas: [ConnectedReplica] = []
            for try await (node, connections, since) in rows.decode((String, Int64, Date?).self) {
                replicas.append(ConnectedReplica(node: node, connections: Int(connections), since: since))
            }
            return replicas
        }
    }
}
