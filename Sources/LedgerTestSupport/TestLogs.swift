public import LedgerPostgres
import Logging

/// Event logs on the test's own servers.
public enum TestLogs {
    /// The test PostgreSQL (`TOKENLEDGER_TEST_POSTGRES_URL`, set by `tools/test`).
    public static func postgresURL() throws -> String {
        try TestEnvironment.required("TOKENLEDGER_TEST_POSTGRES_URL")
    }

    /// Runs `body` with a PostgreSQL log on `url` (the test database by default), its pool running;
    /// migrated first unless `migrate` is false.
    public static func withPostgres<T: Sendable>(
        url: String? = nil,
        migrate: Bool = true,
        _ body: @Sendable (PostgresEventLog) async throws -> T
    ) async throws -> T {
        let log = try PostgresEventLog(url: try url ?? postgresURL(), logger: Logger(label: "test"), timeout: .seconds(10))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await log.run() }
            defer { group.cancelAll() }
            if migrate { try await log.migrate() }
            return try await body(log)
        }
    }
}
