import Foundation
import Testing

/// `auth.mode: none` on a host other machines can reach is refused unless it is said to be meant.
@Suite(.serialized)
struct OpenAccessTests {
    @Test(.timeLimit(.minutes(1)))
    func openAccessOnANonLoopbackHostRefusesToStart() async throws {
        let folder = NSTemporaryDirectory() + "tokenledger-open-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.binary("TOKENLEDGER_BIN", fallback: "tokenledger"))
        process.arguments = ["serve", "--config-dir", TestEnvironment.repositoryRoot + "/config"]
        var environment = ProcessInfo.processInfo.environment
        environment["TOKENLEDGER_ENV"] = "test"
        environment["AUTH_MODE"] = "none"
        environment["HTTP_HOST"] = "0.0.0.0"
        environment["HTTP_PORT"] = String(try TestEnvironment.freePort())
        environment["EVENTLOG_URL"] = "sqlite:\(folder)/ledger.sqlite"
        environment["SECRETS_KEY_FILE"] = "\(folder)/secrets.key"
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        // A serve that does not refuse would run until stopped: give it a bound, then stop it.
        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            Issue.record("serve with auth.mode none on 0.0.0.0 started instead of refusing")
            return
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus != 0)
        #expect(message.contains("auth.mode is none"), "\(message)")
        #expect(message.contains("auth.allow_open_network"), "the message names the setting that allows it: \(message)")
        #expect(!FileManager.default.fileExists(atPath: "\(folder)/ledger.sqlite"), "it refuses before opening the log")
    }

    @Test(.timeLimit(.minutes(1)))
    func openAccessOnANonLoopbackHostStartsWhenAllowedExplicitly() async throws {
        let folder = NSTemporaryDirectory() + "tokenledger-open-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let server = try await ServerProcess.start(
            port: try TestEnvironment.freePort(),
            environment: [
                "AUTH_MODE": "none",
                "HTTP_HOST": "0.0.0.0",
                "AUTH_ALLOW_OPEN_NETWORK": "true",
                "EVENTLOG_URL": "sqlite:\(folder)/ledger.sqlite",
                "SECRETS_KEY_FILE": "\(folder)/secrets.key",
            ],
            name: "open"
        )
        defer { server.stop() }
        let (status, _) = try await HTTP.request("GET", "\(server.baseURL)/healthz")
        #expect(status == 200)
        #expect(server.log().contains("auth.mode is none"), "it still warns: \(server.log())")
    }
}
