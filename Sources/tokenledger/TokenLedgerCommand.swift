import ArgumentParser

/// `tokenledger`: serve tokens, migrate the log, read a stream's history.
@main
struct TokenLedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenledger",
        abstract: "Keeps third-party access tokens fresh in one place, on an event log.",
        subcommands: [
            Serve.self, Migrate.self, History.self, Events.self, Replay.self, Verify.self, KeyCommand.self, RotateKey.self, ImportCommand.self,
            ConfigCommand.self, WebhooksCommand.self,
        ],
        defaultSubcommand: Serve.self
    )
}

/// Options every subcommand shares.
struct CommonOptions: ParsableArguments {
    @Option(name: .customLong("config-dir"), help: "Folder with default.yaml and <env>.yaml.")
    var configDirectory = "config"
}
