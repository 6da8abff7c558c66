import ArgumentParser
import PlatformSimulator

/// `platform-simulator`: the platforms' token APIs on a local port, for benchmarks and manual runs.
@main
struct SimulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "platform-simulator",
        abstract: "Serve WeChat's token API on loopback (a stand-in for the platform, never for a store)."
    )

    @Option var host = "127.0.0.1"
    @Option var port = 4050
    @Option(name: .customLong("app"), help: "appid:secret, repeatable.") var apps: [String] = []
    @Option(name: .customLong("expires-in"), help: "Token life in seconds.") var expiresIn = 7200

    func run() async throws {
        let state = SimulatorState()
        for app in apps {
            let parts = app.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { throw ValidationError("--app takes appid:secret") }
            state.register(appid: String(parts[0]), secret: String(parts[1]), expiresIn: expiresIn)
        }
        try await PlatformSimulatorServer.run(host: host, port: port, state: state) { running in
            print("listening on http://\(host):\(running.port)")
        }
    }
}
