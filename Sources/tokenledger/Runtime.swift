import ArgumentParser
import Foundation
import Logging
import TokenApp
import TokenLedger

/// What the subcommands share: configuration, the runtime of the audit commands, failing clearly.
enum Runtime {
    static func configuration(_ common: CommonOptions) async throws -> ServerConfiguration {
        do {
            return try await ConfigurationLoader.load(directory: common.configDirectory)
        } catch {
            throw fail("bad configuration: \(LedgerError.explain(error))")
        }
    }

    /// The ledger over the configured log, for a one-off command: it logs errors only, so that
    /// its output is the command's own, and folds the log from its start (a snapshot is for a
    /// serving replica's start: `verify` and `replay` answer from the log alone).
    static func quiet(_ configuration: ServerConfiguration) async throws -> LedgerRuntime {
        var logger = configuration.logger()
        logger.logLevel = .error
        var configuration = configuration
        configuration.eventLog.snapshotEvery = 0
        return try await LedgerRuntime.make(configuration, logger: logger)
    }

    /// Prints `message` to standard error and exits with status 1.
    static func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("tokenledger: \(message)\n".utf8))
        return ExitCode.failure
    }
}
