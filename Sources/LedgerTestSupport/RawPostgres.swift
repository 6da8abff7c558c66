import Foundation
public import Logging
public import PostgresNIO

/// A plain connection to the test PostgreSQL, for what the log itself never does: holding a
/// transaction open, trying an UPDATE, terminating another backend, creating a database.
public enum RawPostgres {
    /// Runs `body` on a new connection to the server of `url`, to its database or to `database`,
    /// and closes the connection afterwards.
    public static func with<T: Sendable>(
        url: String,
        database: String? = nil,
        _ body: @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        guard let components = URLComponents(string: url) else { throw RawPostgresFailure(message: "not a URL: \(url)") }
        let configuration = PostgresConnection.Configuration(
            host: components.host ?? "127.0.0.1",
            port: components.port ?? 5432,
            username: components.user ?? "postgres",
            password: components.password,
            database: database ?? String(components.path.dropFirst()),
            tls: .disable
        )
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 99, logger: logger)
        do {
            let value = try await body(connection)
            try await connection.close()
            return value
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Terminates the backends that hold a leadership lock (session advisory locks of class 21583,
    /// `PostgresEventLog.leaderLockClass`) in the database of `url`; returns what
    /// `pg_terminate_backend` answered for each.
    public static func terminateLeaders(url: String) async throws -> [Bool] {
        try await with(url: url) { connection in
            let rows = try await connection.query(
                """
                SELECT pg_terminate_backend(pid) FROM pg_locks
                WHERE locktype = 'advisory' AND classid = 21583 AND granted
                  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """,
                logger: logger
            )
            return try await rows.decode(Bool.self).reduce(into: []) { $0.append($1) }
        }
    }

    /// How many backends hold a leadership lock in the database of `url`.
    public static func leaderCount(url: String) async throws -> Int {
        try await with(url: url) { connection in
            let rows = try await connection.query(
                """
                SELECT count(*)::int FROM pg_locks
                WHERE locktype = 'advisory' AND classid = 21583 AND granted
                  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """,
                logger: logger
            )
            return try await rows.decode(Int.self).reduce(0) { $1 }
        }
    }

    /// A plain logger: these connections are the test's own, not the service's.
    public static let logger = Logger(label: "raw-postgres")
}

/// The test's PostgreSQL URL could not be used.
public struct RawPostgresFailure: Error, CustomStringConvertible {
    /// What was wrong.
    public var message: String
    /// The message.
    public var description: String { message }
}
