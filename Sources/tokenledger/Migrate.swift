import ArgumentParser
import LedgerPostgres
import Logging
import TokenApp
import TokenHTTP
import TokenLedger

/// `tokenledger migrate`: apply the PostgreSQL migrations, as the owner of `token_events` (serve
/// applies them too when it runs as the owner; as `tokenledger_writer` it needs them applied).
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the event log's migrations.")

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let configuration = try await Runtime.configuration(common)
        let logger = Runtime.logger(configuration)
        guard configuration.eventLog.url.hasPrefix("postgres") else {
            print("the SQLite log creates its schema on open; nothing to migrate")
            return
        }
        let log = try PostgresEventLog(url: configuration.eventLog.url, logger: logger)
        try await Runtime.withRunning(log) {
            do {
                let applied = try await log.migrate()
                print(applied.isEmpty ? "schema up to date" : "applied migrations \(applied.map(String.init).joined(separator: ", "))")
            } catch {
                throw Runtime.fail("cannot migrate PostgreSQL: \(LedgerError.explain(error))")
            }
        }
    }
}
