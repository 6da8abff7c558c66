import LedgerTestSupport
import Foundation
import Testing

/// `auth.mode: none` on a host other machines can reach is refused unless it is said to be meant.
@Suite(.serialized)
struct OpenAccessTests {
    @Test(.timeLimit(.minutes(1)))
    func openAccessOnANonLoopbackHostRefusesToStart() async throws {
        let folder = NSTemporaryDirectory() + "tokenledger-open-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let result = try await Command.runToExit(
            ["serve"],
            folder: folder,
            environment: ["AUTH_MODE": "none", "HTTP_HOST": "0.0.0.0", "HTTP_PORT": String(try TestEnvironment.freePort())]
        )
        let (status, message) = try #require(result, "serve with auth.mode none on 0.0.0.0 started instead of refusing")
        #expect(status != 0)
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
