import ArgumentParser
import Foundation
import LedgerPostgres
import Logging
import ServiceLifecycle
import TokenApp
import TokenHTTP
import TokenLedger

/// What the subcommands share: configuration, logging, running services around a body, failing clearly.
enum Runtime {
    static func configuration(_ common: CommonOptions) async throws -> ServerConfiguration {
        do {
            return try await ConfigurationLoader.load(directory: common.configDirectory)
        } catch {
            throw fail("bad configuration: \(LedgerError.explain(error))")
        }
    }

    static func logger(_ configuration: ServerConfiguration) -> Logger {
        var logger = Logger(label: "tokenledger")
        logger.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
        return logger
    }

    /// Prints `message` to standard error and exits with status 1.
    static func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("tokenledger: \(message)\n".utf8))
        return ExitCode.failure
    }

    static func withRunning(_ log: PostgresEventLog, _ body: @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await log.run() }
            defer { group.cancelAll() }
            try await body()
        }
    }

    /// Runs `body` while `services` run, and returns its value.
    static func withServices<T: Sendable>(_ services: [any Service], _ body: @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services {
                group.addTask { try await service.run() }
            }
            let value: T
            do {
                value = try await body()
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
            try? await group.waitForAll()
            return value
        }
    }
}
