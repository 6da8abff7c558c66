import LedgerTestSupport
import Foundation
import NIOHTTP1
import PlatformSimulator
import Testing

/// API keys: every path of access control, over real HTTP.
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

    @Test(.timeLimit(.minutes(1)))
    func everyAccessPathIsAnsweredInTheEnvelopeAndServesNothingWhenRefused() async throws {
        try await withSimulator { simulator in
            simulator.state.register(appid: "wxauth", secret: "s")
            let (reader, readerEntry) = try Self.newKey("reader", scopes: ["read"], projects: ["demo"])
            let (refresher, refresherEntry) = try Self.newKey("refresher", scopes: ["read", "refresh"], projects: ["demo"])
            let (admin, adminEntry) = try Self.newKey("ops", scopes: ["read", "refresh", "admin"], projects: [])
            let (demoAdmin, demoAdminEntry) = try Self.newKey("demo-ops", scopes: ["admin"], projects: ["demo"])
            let service = try await EmbeddedServer.start(simulator: simulator, extra: [
                "AUTH_MODE": "keys",
                "AUTH_KEYS": [readerEntry, refresherEntry, adminEntry, demoAdminEntry].joined(separator: ","),
            ])
            defer { service.server.stop() }
            let path = "/token/demo/wechat/wxauth"
            func call(_ method: String, _ url: String, key: String?, body: String? = nil) async throws -> (Int, String?) {
                let answer = try await HTTP.envelope(method, service.url(url), body: body, headers: key.map { ["Authorization": "Bearer \($0)"] } ?? [:])
                #expect(answer.envelope.code == answer.status)
                return (answer.status, answer.envelope.errorCode)
            }
            // Registering a secret is an admin's business.
            #expect(try await call("GET", path + "?secret=s", key: nil) == (401, "unauthenticated"))
            #expect(try await call("GET", path + "?secret=s", key: "tl_wrong") == (401, "unauthenticated"))
            #expect(try await call("GET", path + "?secret=s", key: reader) == (403, "forbidden"))
            #expect(simulator.state.totalCalls() == 0, "nothing was fetched for a refused caller")
            #expect(try await call("GET", path + "?secret=s", key: admin).0 == 200)
            // Reading: the right key, the right project.
            #expect(try await call("GET", path, key: reader).0 == 200)
            #expect(try await call("GET", path + "?secret=s", key: reader).0 == 200, "the registered secret again registers nothing")
            #expect(try await call("GET", "/token/other/wechat/wxauth", key: reader) == (403, "forbidden"))
            #expect(try await call("GET", path, key: demoAdmin) == (403, "forbidden"), "admin alone does not read")
            // Refreshing needs the refresh scope.
            #expect(try await call("PUT", path, key: reader) == (403, "forbidden"))
            #expect(try await call("PUT", path, key: refresher).0 == 200)
            // Audit: history for the project's admin; the feed only for an admin of every project.
            let (historyStatus, history) = try await HTTP.request("GET", service.url(path + "/history"), headers: ["Authorization": "Bearer \(demoAdmin)"])
            #expect(historyStatus == 200)
            #expect(history.contains(#""actor":"ops""#) && history.contains(#""actor":"refresher""#), "who asked is recorded")
            #expect(try await HTTP.request("GET", service.url("/events"), headers: ["Authorization": "Bearer \(demoAdmin)"]).0 == 403)
            #expect(try await HTTP.request("GET", service.url("/events"), headers: ["Authorization": "Bearer \(admin)"]).0 == 200)
            #expect(try await HTTP.request("GET", service.url("/healthz")).0 == 200, "liveness needs no key")
            let (_, metrics) = try await HTTP.request("GET", service.url("/metrics"))
            #expect(metrics.contains(#"tokenledger_auth_failures_total{reason="unauthenticated"} 2"#))
            #expect(metrics.contains(#"tokenledger_auth_failures_total{reason="forbidden"}"#))
        }
    }
}
