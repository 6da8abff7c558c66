import ArgumentParser
import Foundation
import PighandImport
import TokenApp
import TokenLedger

/// `tokenledger import pighand --mysql URL | --mongo URL [--dry-run]`: carries pighand-token's apps
/// and the tokens it is handing out over to the ledger.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import apps and their live tokens from another token service.",
        subcommands: [Pighand.self]
    )

    struct Pighand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pighand",
            abstract: "Import pighand-token's apps and live tokens from its MySQL table or MongoDB collection token_platform (and its Redis).",
            discussion: """
                For each row: its secret is registered (credentials.set, not tried with the platform) and, \
                while its access_token has not expired, that token is carried over (token.issued, reason \
                imported), so that readers get the token already in use and the scheduler renews it when it \
                is due. No platform is called. Running it again appends nothing. Rows with an unknown platform \
                or an invalid id are reported, not guessed. If pighand-token ran with save_model auto and Redis, \
                give --redis too: it kept its newest tokens only there. Progress goes to standard error, what is appended \
                (or, with --dry-run, would be) and the summary to standard output.
                """
        )

        @OptionGroup var common: CommonOptions
        @Option(help: "pighand-token's MySQL database: mysql://user[:password]@host[:port]/database.") var mysql: String?
        @Option(help: "pighand-token's MongoDB database: mongodb://host[:port]/database.") var mongo: String?
        @Option(help: "pighand-token's Redis, where save_model auto kept the newest tokens: redis://[:password@]host[:port][/db].")
        var redis: String?
        @Option(help: "The table or collection.") var table = "token_platform"
        @Flag(help: "Print what would be appended; append nothing.") var dryRun = false

        func validate() throws {
            guard (mysql == nil) != (mongo == nil) else { throw ValidationError("give one of --mysql URL or --mongo URL") }
        }

        func run() async throws {
            let store: any PighandStore
            do {
                let rows: any PighandStore = try mysql.map { try PighandMySQL(url: $0, table: table) } ?? PighandMongo(url: mongo ?? "", collection: table)
                store = try redis.map { try PighandRedis(rows, url: $0) } ?? rows
            } catch {
                throw ValidationError("\(error)")
            }
            let configuration = try await Runtime.configuration(common)
            let runtime = try await Runtime.quiet(configuration)
            let importer = PighandImporter(ledger: runtime.ledger, dryRun: dryRun)
            let dryRun = self.dryRun
            print("importing pighand-token's \(table) from \(store.name)\(dryRun ? " (dry run: nothing is appended)" : "")")
            let summary: ImportSummary
            do {
                summary = try await runtime.withConnections {
                    try await importer.run(
                        from: store,
                        report: { print($0) },
                        progress: { read, total in
                            FileHandle.standardError.write(Data("tokenledger: read \(read)\(total.map { " of \($0)" } ?? "") rows\n".utf8))
                        }
                    )
                }
            } catch {
                await store.close()
                throw Runtime.fail("import stopped: \(LedgerError.explain(error)); what was appended stays, and running it again goes on from there")
            }
            await store.close()
            print("summary\(dryRun ? " (dry run: nothing was appended)" : ""):")
            for line in summary.lines(dryRun: dryRun) { print("  \(line)") }
        }
    }
}
