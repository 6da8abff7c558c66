import CMariaDB
import ReadModelSupport
import Synchronization

/// A failure talking to MySQL/MariaDB: the connection is not reused after it.
struct MySQLFailure: Error, CustomStringConvertible {
    var description: String
}

/// One MariaDB client connection (UTF-8, UTC), used by one pool thread at a time; closed on release.
final class MySQLConnection: BlockingConnection, @unchecked Sendable {
    private let handle: UnsafeMutablePointer<MYSQL>
    private static let libraryReady: Bool = mysql_server_init(0, nil, nil) == 0

    /// Connects within `timeout`, which also bounds every read and write.
    init(host: String, port: Int, user: String, password: String?, database: String, timeout: Duration) throws {
        guard Self.libraryReady, let handle = mysql_init(nil) else {
            throw MySQLFailure(description: "cannot initialise the MariaDB client library")
        }
        var seconds = UInt32(max(1, timeout.components.seconds))
        mysql_options(handle, MYSQL_OPT_CONNECT_TIMEOUT, &seconds)
        mysql_options(handle, MYSQL_OPT_READ_TIMEOUT, &seconds)
        mysql_options(handle, MYSQL_OPT_WRITE_TIMEOUT, &seconds)
        mysql_options(handle, MYSQL_SET_CHARSET_NAME, "utf8mb4")
        guard mysql_real_connect(handle, host, user, password, database, UInt32(port), nil, 0) != nil else {
            let message = String(cString: mysql_error(handle))
            mysql_close(handle)
            throw MySQLFailure(description: "cannot connect to MySQL at \(host):\(port): \(message)")
        }
        self.handle = handle
        try execute("SET time_zone = '+00:00'")
    }

    deinit {
        mysql_close(handle)
    }

    /// Runs a statement that returns no rows.
    func execute(_ sql: String) throws {
        try query(sql)
        if let result = mysql_store_result(handle) { mysql_free_result(result) }
    }

    /// Runs a query and returns its rows, every column as text (nil for NULL).
    func rows(_ sql: String) throws -> [[String?]] {
        try query(sql)
        guard let result = mysql_store_result(handle) else {
            if mysql_errno(handle) != 0 { throw failure() }
            return []
        }
        defer { mysql_free_result(result) }
        let columns = Int(mysql_num_fields(result))
        var rows: [[String?]] = []
        while let row = mysql_fetch_row(result) {
            let lengths = mysql_fetch_lengths(result)!
            rows.append((0..<columns).map { column in
                guard let value = row[column] else { return nil }
                return value.withMemoryRebound(to: UInt8.self, capacity: Int(lengths[column])) {
                    String(decoding: UnsafeBufferPointer(start: $0, count: Int(lengths[column])), as: UTF8.self)
                }
            })
        }
        return rows
    }

    /// `text` as a quoted SQL string literal, escaped by the client library for this connection's charset.
    func literal(_ text: String) -> String {
        let source = Array(text.utf8)
        var target = [CChar](repeating: 0, count: source.count * 2 + 1)
        let length = source.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { mysql_real_escape_string(handle, &target, $0.baseAddress, UInt($0.count)) }
        }
        return "'" + String(decoding: target[0..<Int(length)].map { UInt8(bitPattern: $0) }, as: UTF8.self) + "'"
    }

    /// Runs `body` in a transaction, rolled back if it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("START TRANSACTION")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    private func query(_ sql: String) throws {
        let status = sql.utf8CString.withUnsafeBufferPointer { mysql_real_query(handle, $0.baseAddress, UInt($0.count - 1)) }
        guard status == 0 else { throw failure() }
    }

    private func failure() -> MySQLFailure {
        MySQLFailure(description: "MySQL error \(mysql_errno(handle)): \(String(cString: mysql_error(handle)))")
    }
}
