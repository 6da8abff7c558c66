import Foundation
import LedgerPostgres
import LedgerTestSupport
import Logging
import PostgresNIO
import Testing

/// A database of its own on the test server, for tests that migrate or change privileges: the
/// shared test database is left as it is. Dropped (with its connections) when the body ends.
struct FreshDatabase: Sendable {
    let name: String
    let host: String
    let port: Int

    /// The URL of this database as `user` (trust authentication on the test server: no password).
    func url(as user: String) -> String {
        "postgres://\(user)@\(host):\(port)/\(name)"
    }

    /// A log on this database as `user`, its pool running for the body.
    func withLog<T: Sendable>(as user: String, _ body: @Sendable (PostgresEventLog) async throws -> T) async throws -> T {
        try await TestLogs.withPostgres(url: url(as: user), migrate: false, body)
    }

    /// A connection to this database as `user`, for what the log itself never does.
    func withConnection<T: Sendable>(as user: String, _ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await Self.withConnection(host: host, port: port, user: user, database: name, body)
    }

    /// Runs `body` with a new database owned by `owner` (the server's superuser when nil).
    static func with<T: Sendable>(owner: String? = nil, _ body: @Sendable (FreshDatabase) async throws -> T) async throws -> T {
        let components = try #require(URLComponents(string: try PostgresEventLogTests.url()))
        let superuser = components.user ?? "postgres"
        let server = (host: components.host ?? "127.0.0.1", port: components.port ?? 5432, database: String(components.path.dropFirst()))
        let database = FreshDatabase(name: "tl_\(UInt32.random(in: 0...UInt32.max))", host: server.host, port: server.port)
        try await withConnection(host: server.host, port: server.port, user: superuser, database: server.database) { connection in
            let ownerClause = owner.map { " OWNER \($0)" } ?? ""
            _ = try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(database.name)\(ownerClause)"), logger: Logger(label: "raw"))
        }
        let value: T
        do {
            value = try await body(database)
        } catch {
            try? await database.drop(superuser: superuser, adminDatabase: server.database)
            throw error
        }
        try await database.drop(superuser: superuser, adminDatabase: server.database)
        return value
    }

    /// The server's superuser, for set-up that needs it (roles, renames).
    static func superuser() throws -> String {
        URLComponents(string: try PostgresEventLogTests.url())?.user ?? "postgres"
    }

    private func drop(superuser: String, adminDatabase: String) async throws {
        try await Self.withConnection(host: host, port: port, user: superuser, database: adminDatabase) { connection in
            _ = try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: Logger(label: "raw"))
        }
    }

    /// A connection as `user` to `database` (no password, no TLS: the test server trusts loopback).
    static func withConnection<T: Sendable>(
        host: String,
        port: Int,
        user: String,
        database: String,
        _ body: @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await RawPostgres.with(url: "postgres://\(user)@\(host):\(port)/\(database)", body)
    }
}
