import Foundation
public import PlatformSimulator

/// One `tokenledger serve` on the embedded SQLite log in a fresh folder, pointed at the simulator.
public struct EmbeddedServer {
    /// The process.
    public let server: ServerProcess
    /// Its folder (log, key).
    public let folder: String

    /// Starts one in `folder` (a fresh one by default) with `extra` environment.
    public static func start(simulator: RunningSimulator, folder: String? = nil, extra: [String: String] = [:]) async throws -> EmbeddedServer {
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

    /// `http://127.0.0.1:port`.
    public var baseURL: String { server.baseURL }

    /// `baseURL + path`.
    public func url(_ path: String) -> String { baseURL + path }
}
