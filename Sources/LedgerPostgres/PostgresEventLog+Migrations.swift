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
        (4, "writer_login", PackageResources._04_writer_login_sql),
        (5, "webhook_checkpoints", PackageResources._05_webhook_checkpoints_sql),
        (6, "append_function", PackageResources._06_append_function_sql),
        (7, "memory_snapshots", PackageResources._07_memory_snapshots_sql),
    ]

    /// What `serve` does at start. When every migration is applied it only checks so, which
    /// `tokenledger_writer` may do (it reads `tokenledger_migrations`, and needs no DDL right);
    /// otherwise it applies them (see `migrate()`), which only the owner may do: any other role
    /// gets a `SchemaFailure` that says to run `tokenledger migrate` as the owner.
    /// Returns the versions applied by this call.
    @discardableResult
    public func prepareSchema() async throws -> [Int] {
        let done = try await appliedMigrations()
        let pending = Self.migrations.map(\.version).filter { !done.contains($0) }
        guard !pending.isEmpty else { return [] }
        do {
            return try await migrate()
        } catch let failure as SchemaFailure {
            throw SchemaFailure(
                "migrations \(pending.map(String.init).joined(separator: ", ")) are not applied and \(url.username) cannot apply them "
                    + "(\(failure)); run `tokenledger migrate` as the owner of token_events, then start again"
            )
        }
    }

    /// Applies every migration not yet applied, all in one transaction: a migration that fails
    /// (e.g. 003 without CREATEROLE) throws a `SchemaFailure` and leaves nothing applied or
    /// recorded. Replicas that start together on an empty database serialise on an advisory lock;
    /// each migration is idempotent besides. Returns the versions applied by this call.
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

    /// The versions recorded in `tokenledger_migrations` (none when the table does not exist yet).
    func appliedMigrations() async throws -> Set<Int> {
        try await guarded("read migrations") {
            do {
                var done: Set<Int> = []
                let rows = try await self.client.query("SELECT version FROM tokenledger_migrations", logger: self.logger)
                for try await version in rows.decode(Int.self) { done.insert(version) }
                return done
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == Self.undefinedTable {
                return []
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == Self.insufficientPrivilege {
                throw SchemaFailure(
                    "\(self.url.username) cannot read tokenledger_migrations (\(Self.serverMessage(error))); "
                        + "run `tokenledger migrate` as the owner of token_events, which grants tokenledger_writer what it needs"
                )
            }
        }
    }

    private func applyMigrations(_ connection: PostgresConnection) async throws -> [Int] {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await Self.run(
                "creating tokenledger_migrations",
                """
                CREATE TABLE IF NOT EXISTS tokenledger_migrations (
                    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """,
                on: connection,
                logger: logger
            )
            var done: Set<Int> = []
            for try await version in try await connection.query("SELECT version FROM tokenledger_migrations", logger: logger).decode(Int.self) {
                done.insert(version)
            }
            var applied: [Int] = []
            for migration in Self.migrations where !done.contains(migration.version) {
                let what = "migration \(migration.version) (\(migration.name))"
                for statement in Self.statements(of: String(decoding: migration.sql, as: UTF8.self)) {
                    try await Self.run(what, PostgresQuery(unsafeSQL: statement), on: connection, logger: logger)
                }
                try await connection.query(
                    "INSERT INTO tokenledger_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                    logger: logger
                )
                applied.append(migration.version)
            }
            try await connection.query("COMMIT", logger: logger)
            for version in applied {
                logger.info("applied migration \(version)")
            }
            return applied
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// Runs one statement of `what`; PostgreSQL's refusal becomes a `SchemaFailure` in its words.
    private static func run(_ what: String, _ query: PostgresQuery, on connection: PostgresConnection, logger: Logger) async throws {
        do {
            try await connection.query(query, logger: logger)
        } catch let error as PSQLError where error.serverInfo != nil {
            var message = "\(what) failed: \(serverMessage(error)); nothing was applied"
            if error.serverInfo?[.sqlState] == insufficientPrivilege {
                message += ". Migrations must run as the owner of token_events, with CREATEROLE (the first time, to create tokenledger_writer)"
            }
            throw SchemaFailure(message)
        }
    }

    /// SQLSTATEs told apart here.
    static let undefinedTable = "42P01"
    static let insufficientPrivilege = "42501"

    /// PostgreSQL's message and SQLSTATE, e.g. `permission denied to create role (42501)`.
    static func serverMessage(_ error: PSQLError) -> String {
        "\(error.serverInfo?[.message] ?? "error") (\(error.serverInfo?[.sqlState] ?? "?"))"
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
