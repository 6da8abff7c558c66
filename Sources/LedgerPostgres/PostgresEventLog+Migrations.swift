import Foundation
import Logging
import PostgresNIO
import TokenLedger

extension PostgresEventLog {
    /// The migrations, in order; their SQL lives in `schema/postgres/` (embedded at build time).
    static let migrations: [(version: Int, name: String, sql: [UInt8])] = [
        (1, "token_events", PackageResources._01_token_events_sql),
        (2, "append_only", PackageResources._02_append_only_sql),
        (3, "writer_role", PackageResources._03_writer_role_sql),
    ]

    /// Applies every migration not yet applied. Replicas that start together on an empty database
    /// serialise on an advisory lock; each migration is idempotent besides.
    /// Returns the versions applied by this call.
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await guarded("migrate") {
            try await self.client.withConnection { connection in
                try await connection.query("SELECT pg_advisory_lock(\(Self.migrationLockClass), 0)", logger: self.logger)
                do {
                    let applied = try await self.applyMigrations(connection)
                    try await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLockClass), 0)", logger: self.logger)
                    return applied
                } catch {
                    _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLockClass), 0)", logger: self.logger)
                    throw error
                }
            }
        }
    }

    private func applyMigrations(_ connection: PostgresConnection) async throws -> [Int] {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS tokenledger_migrations (
                version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
            """,
            logger: logger
        )
        var done: Set<Int> = []
        for try await version in try await connection.query("SELECT version FROM tokenledger_migrations", logger: logger).decode(Int.self) {
            done.insert(version)
        }
        var applied: [Int] = []
        for migration in Self.migrations where !done.contains(migration.version) {
            let sql = String(decoding: migration.sql, as: UTF8.self)
            try await connection.query("BEGIN", logger: logger)
            do {
                for statement in Self.statements(of: sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO tokenledger_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                    logger: logger
                )
                try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
            logger.info("applied migration \(migration.version) \(migration.name)")
            applied.append(migration.version)
        }
        return applied
    }

    /// Splits a migration into statements: the extended protocol takes one at a time. A statement
    /// ends with a line ending in `;` outside a `$$` body.
    static func statements(of sql: String) -> [String] {
        var statements: [String] = []
        var current: [Substring] = []
        var insideBody = false
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if current.isEmpty, trimmed.isEmpty || trimmed.hasPrefix("--") { continue }
            current.append(line)
            if line.components(separatedBy: "$$").count % 2 == 0 { insideBody.toggle() }
            if !insideBody, trimmed.hasSuffix(";") {
                statements.append(current.joined(separator: "\n"))
                current = []
            }
        }
        let rest = current.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { statements.append(rest) }
        return statements
    }
}
