import Foundation
import PlatformSimulator

/// One `tokenledger serve` on the embedded SQLite log in a fresh folder, pointed at the simulator.
struct EmbeddedServer {
    let server: ServerProcess
    let folder: String

    static func start(simulator: RunningSimulator, folder: String? = nil, extra: [String: String] = [:]) async throws -> EmbeddedServer {
        let folder = folder ?? NSTemporaryDirectory() + "tokenledger-embedded-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var environment = [
            "EVENTLOG_URL": "sqlite:\(folder)/ledger.sqlite",
            "SECRETS_KEY_FILE": "\(folder)/secrets.key",
            "PLATFORMS_WECHAT_BASE_URL": simulator.baseURL,
        ]
        for (key, value) in extra { environment[key] = value }
        let server = try await ServerProcess.start(port: try TestEnvironment.freePort(), environment: environment, name: "embedded")
        return EmbeddedServer(server: server, folder: folder)
    }

    var baseURL: String { server.baseURL }

    func url(_ path: String) -> String { baseURL + path }
}
