import Foundation
import ReadModelSupport
public import TokenLedger

/// The MySQL/MariaDB read model: the table `current_tokens` (see `schema/mysql`), one row per
/// stream, upserted only by a newer position, with the checkpoint in `tokenledger_checkpoint`
/// changed in the same transaction (see `MySQLPageWrite`).
public final class MySQLReadModel: ReadModel {
    public let name = "mysql"
    private let pool: BlockingPool<MySQLConnection>
    private let node: String
    private let rowsPerStatement: Int
    private let bytesPerStatement: Int

    /// Connects lazily to `url` (`mysql://user[:password]@host[:port]/database`). A page is written
    /// in upserts of at most `rowsPerStatement` rows (at most 10,000: 6 values each, under the 65,535
    /// placeholders a statement may have) and of about `bytesPerStatement` bytes of values (under the
    /// server's `max_allowed_packet`), all in one transaction (see `MySQLPageWrite`).
    public init(
        url: String,
        node: String,
        timeout: Duration = .seconds(2),
        poolSize: Int = 4,
        rowsPerStatement: Int = 1000,
        bytesPerStatement: Int = 1 << 20
    ) throws {
        self.rowsPerStatement = min(max(1, rowsPerStatement), 10_000)
        self.bytesPerStatement = bytesPerStatement
        let parsed = try StoreURL(url, scheme: "mysql")
        guard let database = parsed.path, !database.contains("/") else {
            throw StoreURLError(text: url, reason: "the path must name the database, e.g. mysql://user@host:3306/tokenledger")
        }
        self.node = node
        pool = BlockingPool(size: poolSize, store: "MySQL") {
            try MySQLConnection(
                host: parsed.host,
                port: parsed.port ?? 3306,
                user: parsed.user ?? "root",
                password: parsed.password,
                database: database,
                timeout: timeout
            )
        }
    }

    /// Creates the tables if they are missing (idempotent; every replica may run it at start).
    public func prepare() async throws {
        let statements = String(decoding: PackageResources._01_current_tokens_sql, as: UTF8.self)
            .components(separatedBy: ";")
            .map { $0.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }.joined(separator: "\n") }
            .filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        try await call("create its tables") { connection in
            for statement in statements { try connection.execute(statement) }
        }
    }

    public func checkpoint() async throws -> Int64 {
        try await call("read the checkpoint") { connection in
            let rows = try connection.run("SELECT position FROM tokenledger_checkpoint WHERE name = 'current_tokens'")
            guard let first = rows.first, let text = first[0] else { return 0 }
            return Int64(text) ?? 0
        }
    }

    public func apply(_ rows: [ReadModelRow], checkpoint: Int64) async throws {
        let write = MySQLPageWrite(rows: rows, checkpoint: checkpoint, node: node, rowsPerStatement: rowsPerStatement, bytesPerStatement: bytesPerStatement)
        try await call("apply") { connection in try write.run(on: connection) }
    }

    public func row(of stream: StreamID) async throws -> (row: ReadModelRow?, checkpoint: Int64) {
        try await call("read a token") { connection in
            let rows = try connection.run(
                """
                SELECT project, platform, appid, token, ROUND(UNIX_TIMESTAMP(expires_at) * 1000), position,
                    (SELECT position FROM tokenledger_checkpoint WHERE name = 'current_tokens')
                FROM (SELECT 1) AS one
                LEFT JOIN current_tokens ON project = ? AND platform = ? AND appid = ?
                """,
                [.text(stream.project), .text(stream.platform), .text(stream.appid)]
            )
            guard let first = rows.first else { return (nil, 0) }
            // PAD SPACE collations match `wx1 ` to `wx1`: the row must name exactly `stream`.
            return ((try? Self.row(first))?.belonging(to: stream), first[6].flatMap { Int64($0) } ?? 0)
        }
    }

    public func snapshot() async throws -> ReadModelSnapshot {
        let checkpoint = try await self.checkpoint()
        return try await call("read everything") { connection in
            var snapshot = ReadModelSnapshot(checkpoint: checkpoint, rows: [])
            let rows = try connection.rows(
                "SELECT project, platform, appid, token, ROUND(UNIX_TIMESTAMP(expires_at) * 1000), position FROM current_tokens"
            )
            for columns in rows {
                do {
                    if let row = try Self.row(columns) { snapshot.rows.append(row) }
                } catch {
                    let key = columns[0..<3].map { $0 ?? "NULL" }.joined(separator: "/")
                    snapshot.foreign.append((key, LedgerError.explain(error)))
                }
            }
            return snapshot
        }
    }

    public func reset() async throws {
        try await call("reset") { connection in
            try connection.transaction {
                try connection.execute("DELETE FROM current_tokens")
                try connection.execute("DELETE FROM tokenledger_checkpoint WHERE name = 'current_tokens'")
            }
        }
    }

    public func shutdown() async {
        await pool.shutdown()
    }

    private struct NotOurs: Error, CustomStringConvertible {
        var description: String
    }

    /// A row from `project, platform, appid, token, expires_at ms, position`; nil if there is none.
    private static func row(_ columns: [String?]) throws -> ReadModelRow? {
        guard let project = columns[0], let platform = columns[1], let appid = columns[2] else { return nil }
        guard let stream = try? StreamID(project: project, platform: platform, appid: appid) else {
            throw NotOurs(description: "not a valid stream id")
        }
        guard let position = columns[5].flatMap({ Int64($0) }) else { throw NotOurs(description: "no position") }
        guard let token = columns[3] else { return ReadModelRow(stream: stream, token: nil, expiresAt: nil, position: position) }
        guard let milliseconds = columns[4].flatMap({ Double($0) }) else { throw NotOurs(description: "a token without expires_at") }
        return ReadModelRow(stream: stream, token: token, expiresAt: Date(timeIntervalSince1970: milliseconds / 1000), position: position)
    }

    private func call<T: Sendable>(_ what: String, _ body: @escaping @Sendable (MySQLConnection) throws -> T) async throws -> T {
        try await pool.withConnection(what, body)
    }
}
