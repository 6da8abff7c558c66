import LedgerTestSupport
import Foundation
import NIOHTTP1
import PlatformSimulator
import Testing

/// API keys over real HTTP: the command that makes them, the configuration that lists them, the metrics.
@Suite(.serialized)
struct AccessControlTests {
    /// A new key from `tokenledger key new`: (key, entry).
    static func newKey(_ id: String, scopes: [String], projects: [String]) throws -> (String, String) {
        var arguments = ["key", "new", "--id", id]
        for scope in scopes { arguments += ["--scope", scope] }
        for project in projects { arguments += ["--project", project] }
        let (status, output) = try Command.run(arguments, folder: NSTemporaryDirectory(), configured: false)
        #expect(status == 0)
        let lines = output.split(separator: "\n")
        let key = try #require(lines.first { $0.hasPrefix("key") }?.split(separator: " ").last)
        let entry = try #require(lines.first { $0.hasPrefix("auth.keys") }?.split(separator: " ").last)
        return (String(key), String(entry))
    }

    /// What needs the process: keys made by `tokenledger key new`, read from the configuration,
    /// and the refusals counted in `/metrics` (every route and key is tested in-process, in
    /// TokenHTTPTests' AccessControlTests).
    @Test(.timeLimit(.minutes(1)))
    func keysFromTheCommandAreAcceptedAndRefusalsAreCounted() async throws {
        try await withSimulator { simulator in
            simulator.state.register(appid: "wxauth", secret: "s")
            let (reader, readerEntry) = try Self.newKey("reader", scopes: ["read"], projects: ["demo"])
            let (admin, adminEntry) = try Self.newKey("ops", scopes: ["read", "refresh", "admin"], projects: [])
            let service = try await EmbeddedServer.start(simulator: simulator, extra: [
                "AUTH_MODE": "keys",
                "AUTH_KEYS": [readerEntry, adminEntry].joined(separator: ","),
            ])
            defer { service.server.stop() }
            let path = "/token/demo/wechat/wxauth"
            func call(_ method: String, _ url: String, key: String?) async throws -> (Int, String?) {
                let answer = try await HTTP.envelope(method, service.url(url), headers: key.map { ["Authorization": "Bearer \($0)"] } ?? [:])
                #expect(answer.envelope.code == answer.status)
                return (answer.status, answer.envelope.errorCode)
            }
            #expect(try await call("GET", path + "?secret=s", key: nil) == (401, "unauthenticated"))
            #expect(try await call("GET", path + "?secret=s", key: "tl_wrong") == (401, "unauthenticated"))
            #expect(try await call("GET", path + "?secret=s", key: reader) == (403, "forbidden"))
            #expect(simulator.state.totalCalls() == 0, "nothing was fetched for a refused caller")
            #expect(try await call("GET", path + "?secret=s", key: admin).0 == 200)
            #expect(try await call("GET", path, key: reader).0 == 200)
            #expect(try await HTTP.request("GET", service.url("/healthz")).0 == 200, "liveness needs no key")
            let (_, metrics) = try await HTTP.request("GET", service.url("/metrics"))
            #expect(metrics.contains(#"tokenledger_auth_failures_total{reason="unauthenticated"} 2"#))
            #expect(metrics.contains(#"tokenledger_auth_failures_total{reason="forbidden"} 1"#))
        }
    }
}
