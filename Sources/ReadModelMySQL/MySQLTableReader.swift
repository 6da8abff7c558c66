import ReadModelSupport

/// Reads a table another program wrote (pighand-token's `token_platform`, for `tokenledger
/// import`) in pages by its integer key: each page is one range query on the primary key
/// (`key > last ORDER BY key LIMIT n`), so a table of any size needs one page of memory and no
/// cursor is held open between pages.
public final class MySQLTableReader: Sendable {
    private let pool: BlockingPool<MySQLConnection>

    /// Connects lazily to `url` (`mysql://user[:password]@host[:port]/database`); `timeout`
    /// bounds the connection and every read.
    public init(url: String, timeout: Duration = .seconds(10)) throws {
        let parsed = try StoreURL(url, scheme: "mysql")
        guard let database = parsed.path, !database.contains("/") else {
            throw StoreURLError(text: url, reason: "the path must name the database, e.g. mysql://user@host:3306/pighand")
        }
        pool = BlockingPool(size: 1, store: "MySQL") {
            try MySQLConnection(
                host: parsed.host, port: parsed.port ?? 3306, user: parsed.user ?? "root", password: parsed.password, database: database, timeout: timeout
            )
        }
    }

    /// The number of rows of `table`.
    public func count(_ table: String) async throws -> Int {
        let sql = "SELECT COUNT(*) FROM \(try Self.identifier(table))"
        return try await pool.withConnection("count the rows of \(table)") { connection in
            Int(try connection.run(sql).first?.first.flatMap { $0 } ?? "0") ?? 0
        }
    }

    /// Up to `limit` rows of `table` whose integer `key` is above `after` (all, when nil), in
    /// `key` order: `columns` as text, nil for NULL. The key must be the first column.
    public func page(_ table: String, columns: [String], after: Int64?, limit: Int) async throws -> [[String?]] {
        let key = try Self.identifier(columns.first ?? "")
        let list = try columns.map(Self.identifier).joined(separator: ", ")
        let sql = "SELECT \(list) FROM \(try Self.identifier(table)) WHERE \(key) > ? ORDER BY \(key) LIMIT ?"
        return try await pool.withConnection("read \(table)") { connection in
            try connection.run(sql, [.integer(after ?? Int64.min), .integer(Int64(limit))])
        }
    }

    /// Stops the reader's thread.
    public func shutdown() async {
        await pool.shutdown()
    }

    /// `name` quoted as an identifier: letters, digits and `_` only, so nothing needs escaping.
    private static func identifier(_ name: String) throws -> String {
        guard !name.isEmpty, name.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }) else {
            throw MySQLFailure(description: "'\(name)' is not a plain table or column name")
        }
        return "`\(name)`"
    }
}
