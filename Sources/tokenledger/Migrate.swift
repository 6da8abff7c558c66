import ArgumentParser
import TokenApp

/// `tokenledger migrate`: apply the PostgreSQL migrations, as the owner of `token_events` (serve
/// applies them too when it runs as the owner; as `tokenledger_writer` it needs them applied).
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the event log's migrations.")

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let configuration = try await Runtime.configuration(common)
        do {
            switch try await EventLogMigration.run(configuration.eventLog, logger: configuration.logger()) {
            case .nothingToMigrate:
                print("the SQLite log creates its schema on open; nothing to migrate")
            case .applied(let applied):
                print(applied.isEmpty ? "schema up to date" : "applied migrations \(applied.map(String.init).joined(separator: ", "))")
            }
        } catch let failure as MigrationFailure {
            throw Runtime.fail("cannot migrate PostgreSQL: \(failure)")
        }
    }
}
