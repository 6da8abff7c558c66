import Foundation
import LedgerTestSupport
import PlatformSimulator
import TokenApp

/// Configurations for in-process applications: the repository's `config/` in the `test`
/// environment, an embedded SQLite log in a fresh folder, WeChat pointed at the simulator.
struct AppFixture {
    /// The folder of the log and the development key; kept across restarts of the same fixture.
    let folder: String
    let simulator: RunningSimulator

    init(simulator: RunningSimulator) throws {
        folder = NSTemporaryDirectory() + "tokenledger-app-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        self.simulator = simulator
    }

    /// The configuration with `extra` environment variables over the fixture's own.
    func configuration(_ extra: [String: String] = [:]) async throws -> ServerConfiguration {
        try await Self.load([
            "EVENTLOG_URL": "sqlite:\(folder)/ledger.sqlite",
            "SECRETS_KEY_FILE": "\(folder)/secrets.key",
            "PLATFORMS_WECHAT_BASE_URL": simulator.baseURL,
        ].merging(extra) { $1 })
    }

    /// Loads `config/` as `tokenledger` does, with `environment` as the process environment.
    static func load(_ environment: [String: String]) async throws -> ServerConfiguration {
        try await ConfigurationLoader.load(
            directory: TestEnvironment.repositoryRoot + "/config",
            environment: ["TOKENLEDGER_ENV": "test"].merging(environment) { $1 }
        )
    }
}
