import ArgumentParser
import Foundation
import TokenApp
import TokenLedger

/// `tokenledger config`: the effective configuration, secrets masked, and the layer that set each key.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print the effective configuration, every secret masked, and which layer set each key.",
        discussion: """
            Layers, highest first: environment variables (a key a.b_c is A_B_C), config/<TOKENLEDGER_ENV>.yaml, \
            config/default.yaml; "default" is the built-in value. Reads the same environment and folder as \
            serve, so it shows what a replica started here will do. A bad value exits 1 with the reason.
            """
    )

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let report: ConfigurationReport
        do {
            report = try await ConfigurationReport.load(directory: common.configDirectory, environment: environment)
        } catch {
            throw Runtime.fail("bad configuration: \(LedgerError.explain(error))")
        }
        print("# TOKENLEDGER_ENV=\(environment["TOKENLEDGER_ENV"] ?? "development"), --config-dir \(common.configDirectory); secrets masked")
        for line in report.lines { print(line) }
    }
}
