import CMariaDB
import ReadModelSupport
import Synchronization

/// A failure talking to MySQL/MariaDB: the connection is not reused after it.
struct MySQLFailure: Error, CustomStringConvertible {
    var description: String
}

/// A value bound to a `?` of a prepared statement.
enum MySQLValue {
    case text(String)
    case integer(Int64)
    case null
}

/// One MariaDB client connection (UTF-8, UTC), used by one pool thread at a time; closed on release.
///
/// `@unchecked Sendable`: the handle and the statement cache are only touched by the pool thread
/// that holds the connection, one at a time (`BlockingPool` hands a connection to one caller).
final class MySQLConnection: BlockingConnection, @unchecked Sendable {
    private let handle: UnsafeMutablePointer<MYSQL>
    /// Prepared statements by their SQL, oldest first; a few shapes are used (one per batch size).
    private var statements: [(sql: String, statement: UnsafeMutablePointer<MYSQL_STMT>)] = []
    private static let cachedStatements = 8
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
        for cached in statements { mysql_stmt_close(cached.statement) }
        mysql_close(handle)
    }

    /// Runs a statement without values that returns no rows (DDL, transaction control).
    func execute(_ sql: String) throws {
        try query(sql)
        if let result = mysql_store_result(handle) { mysql_free_result(result) }
    }

    /// Runs `sql` as a prepared statement with `values` bound to its `?`s; returns its rows, every
    /// column as text (nil for NULL), or none for a statement that returns no rows.
    @discardableResult
    func run(_ sql: String, _ values: [MySQLValue] = []) throws -> [[String?]] {
        let statement = try prepared(sql)
        guard mysql_stmt_param_count(statement) == UInt(values.count) else {
            throw MySQLFailure(description: "statement expects \(mysql_stmt_param_count(statement)) values, got \(values.count)")
        }
        try withBound(values) { binds in
            if !binds.isEmpty, mysql_stmt_bind_param(statement, binds.baseAddress) != 0 { throw failure(statement) }
            if mysql_stmt_execute(statement) != 0 { throw failure(statement) }
        }
        return try fetchRows(statement)
    }

    /// The statement prepared for `sql` on this connection, prepared once.
    private func prepared(_ sql: String) throws -> UnsafeMutablePointer<MYSQL_STMT> {
        if let cached = statements.first(where: { $0.sql == sql }) { return cached.statement }
        guard let statement = mysql_stmt_init(handle) else { throw failure() }
        let status = sql.utf8CString.withUnsafeBufferPointer { mysql_stmt_prepare(statement, $0.baseAddress, UInt($0.count - 1)) }
        guard status == 0 else {
            let error = failure(statement)
            mysql_stmt_close(statement)
            throw error
        }
        if statements.count == Self.cachedStatements { mysql_stmt_close(statements.removeFirst().statement) }
        statements.append((sql, statement))
        return statement
    }

    /// Calls `body` with `values` laid out as `MYSQL_BIND`s whose buffers live until it returns:
    /// every value's bytes in one buffer (one allocation for a statement, not one per value).
    private func withBound(_ values: [MySQLValue], _ body: (UnsafeMutableBufferPointer<MYSQL_BIND>) throws -> Void) throws {
        var size = 0
        for value in values {
            switch value {
            case .null: break
            case .integer: size += 8
            case .text(let text): size += text.utf8.count
            }
        }
        let binds = UnsafeMutableBufferPointer<MYSQL_BIND>.allocate(capacity: values.count)
        binds.initialize(repeating: MYSQL_BIND())
        let lengths = UnsafeMutableBufferPointer<UInt>.allocate(capacity: values.count)
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(8, size), alignment: 8)
        defer {
            storage.deallocate()
            lengths.deallocate()
            binds.deallocate()
        }
        // Integers first (aligned), then the texts' bytes.
        var integers = storage
        var texts = storage + 8 * values.reduce(0) { if case .integer = $1 { $0 + 1 } else { $0 } }
        for (index, value) in values.enumerated() {
            switch value {
            case .null:
                binds[index].buffer_type = MYSQL_TYPE_NULL
            case .integer(let number):
                integers.storeBytes(of: number, as: Int64.self)
                binds[index].buffer_type = MYSQL_TYPE_LONGLONG
                binds[index].buffer = integers
                integers += 8
            case .text(var text):
                let count = text.withUTF8 { utf8 in
                    if let source = utf8.baseAddress { texts.copyMemory(from: source, byteCount: utf8.count) }
                    return utf8.count
                }
                lengths[index] = UInt(count)
                binds[index].buffer_type = MYSQL_TYPE_STRING
                binds[index].buffer = texts
                binds[index].buffer_length = UInt(count)
                binds[index].length = lengths.baseAddress! + index
                texts += count
            }
        }
        try body(binds)
    }

    /// The rows of an executed statement, every column fetched as text at its full length.
    private func fetchRows(_ statement: UnsafeMutablePointer<MYSQL_STMT>) throws -> [[String?]] {
        guard let metadata = mysql_stmt_result_metadata(statement) else {
            if mysql_stmt_errno(statement) != 0 { throw failure(statement) }
            return []
        }
        let columns = Int(mysql_num_fields(metadata))
        mysql_free_result(metadata)
        let binds = UnsafeMutableBufferPointer<MYSQL_BIND>.allocate(capacity: columns)
        binds.initialize(repeating: MYSQL_BIND())
        let lengths = UnsafeMutableBufferPointer<UInt>.allocate(capacity: columns)
        lengths.initialize(repeating: 0)
        let nulls = UnsafeMutableBufferPointer<my_bool>.allocate(capacity: columns)
        nulls.initialize(repeating: 0)
        defer {
            binds.deallocate()
            lengths.deallocate()
            nulls.deallocate()
            mysql_stmt_free_result(statement)
        }
        for column in 0..<columns {
            // No buffer: every fetch reports the length, and the value is read at that length below.
            binds[column].buffer_type = MYSQL_TYPE_STRING
            binds[column].length = lengths.baseAddress! + column
            binds[column].is_null = nulls.baseAddress! + column
        }
        guard mysql_stmt_bind_result(statement, binds.baseAddress) == 0, mysql_stmt_store_result(statement) == 0 else {
            throw failure(statement)
        }
        var rows: [[String?]] = []
        while true {
            let status = mysql_stmt_fetch(statement)
            if status == MYSQL_NO_DATA { break }
            guard status == 0 || status == MYSQL_DATA_TRUNCATED else { throw failure(statement) }
            var row: [String?] = []
            row.reserveCapacity(columns)
            for column in 0..<columns {
                guard nulls[column] == 0 else {
                    row.append(nil)
                    continue
                }
                let length = Int(lengths[column])
                var bytes = [UInt8](repeating: 0, count: length + 1)
                if length > 0 {
                    var bind = MYSQL_BIND()
                    bind.buffer_type = MYSQL_TYPE_STRING
                    let status = bytes.withUnsafeMutableBytes { buffer in
                        bind.buffer = buffer.baseAddress
                        bind.buffer_length = UInt(buffer.count)
                        return mysql_stmt_fetch_column(statement, &bind, UInt32(column), 0)
                    }
                    guard status == 0 else { throw failure(statement) }
                }
                row.append(String(decoding: bytes[0..<length], as: UTF8.self))
            }
            rows.append(row)
        }
        return rows
    }

    /// Runs a query without values and returns its rows, every column as text (nil for NULL).
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

    private func failure(_ statement: UnsafeMutablePointer<MYSQL_STMT>) -> MySQLFailure {
        MySQLFailure(description: "MySQL error \(mysql_stmt_errno(statement)): \(String(cString: mysql_stmt_error(statement)))")
    }

    private func failure() -> MySQLFailure {
        MySQLFailure(description: "MySQL error \(mysql_errno(handle)): \(String(cString: mysql_error(handle)))")
    }
}
