import ReadModelMySQL
import ReadModelSupport

/// pighand-token's MySQL table `token_platform` (`public/mysql.sql` of pighand-token), read by id.
public struct PighandMySQL: PighandStore {
    public let name: String
    private let reader: MySQLTableReader
    private let table: String
    private static let columns = ["id", "project_id", "platform", "appid", "secret", "access_token", "expires_time"]

    /// The table `table` of the database `url` names (`mysql://user[:password]@host[:port]/database`).
    public init(url: String, table: String = "token_platform", timeout: Duration = .seconds(10)) throws {
        reader = try MySQLTableReader(url: url, timeout: timeout)
        name = StoreURL.redacted(url)
        self.table = table
    }

    public func count() async throws -> Int? {
        try await reader.count(table)
    }

    public func rows(after cursor: String?, limit: Int) async throws -> (rows: [PighandRow], next: String?) {
        let rows = try await reader.page(table, columns: Self.columns, after: cursor.flatMap { Int64($0) }, limit: limit).map { columns in
            PighandRow(
                id: columns[0] ?? "?", projectID: columns[1], platform: columns[2], appid: columns[3], secret: columns[4],
                accessToken: columns[5], expiresTime: columns[6]
            )
        }
        return (rows, rows.count == limit ? rows.last?.id : nil)
    }

    public func close() async {
        await reader.shutdown()
    }
}
