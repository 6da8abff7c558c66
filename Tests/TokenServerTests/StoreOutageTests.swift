import Foundation
import LedgerTestSupport
import NIOHTTP1
import PlatformSimulator
import Testing

/// PostgreSQL taken away from a running replica (through a proxy that the test cuts).
@Suite(.serialized)
struct StoreOutageTests {
    @Test(.timeLimit(.minutes(3)))
    func cachedTokensSurviveALostLogWritesFailAndRecoveryLosesNothing() async throws {
        let postgres = try TestEnvironment.required("TOKENLEDGER_TEST_POSTGRES_URL")
        let components = try #require(URLComponents(string: postgres))
        let proxy = try TCPProxy(to: try #require(components.port))
        var proxied = components
        proxied.port = proxy.port
        let proxiedURL = try #require(proxied.string)
        try await withSimulator { simulator in
            let project = uniqueProject("outage")
            simulator.state.register(appid: "wxout", secret: "s")
            simulator.state.register(appid: "wxnew", secret: "s")
            let replica = try await ServerProcess.start(
                port: try TestEnvironment.freePort(),
                environment: [
                    "EVENTLOG_URL": proxiedURL,
                    "EVENTLOG_TIMEOUT_MS": "1500",
                    "PLATFORMS_WECHAT_BASE_URL": simulator.baseURL,
                    "SECRETS_KEY": TestEnvironment.secretsKey(),
                ],
                name: "outage"
            )
            defer { replica.stop() }
            let path = "/token/\(project)/wechat/wxout"
            let token = try #require(try await HTTP.envelope("GET", replica.baseURL + path + "?secret=s").envelope.data)

            proxy.cut()
            // Reads of a cached fresh token go on.
            for _ in 0..<20 {
                let answer = try await HTTP.envelope("GET", replica.baseURL + path)
                #expect(answer.status == 200)
                #expect(answer.envelope.data == token)
            }
            // Writes fail with 503, within the log's timeout, and say why.
            let started = ContinuousClock.now
            let put = try await HTTP.envelope("PUT", replica.baseURL + path)
            #expect(put.status == 503)
            #expect(put.envelope.errorCode == "store_unavailable")
            #expect(ContinuousClock.now - started < .seconds(10))
            let cold = try await HTTP.envelope("GET", replica.baseURL + "/token/\(project)/wechat/wxnew?secret=s")
            #expect(cold.status == 503)
            let readiness = try await HTTP.request("GET", replica.baseURL + "/healthz")
            #expect(readiness.0 == 200, "the process stays alive")

            proxy.restore()
            var recovered: String?
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while recovered == nil, ContinuousClock.now < deadline {
                let answer = try await HTTP.envelope("PUT", replica.baseURL + path)
                if answer.status == 200 { recovered = answer.envelope.data } else { try await Task.sleep(for: .milliseconds(250)) }
            }
            let newToken = try #require(recovered, "writes work again once PostgreSQL is back")
            #expect(newToken != token)
            #expect(try await HTTP.envelope("GET", replica.baseURL + path).envelope.data == newToken)
            // Every acknowledged token is in the log.
            let (_, history) = try await HTTP.request("GET", replica.baseURL + path + "/history")
            #expect(history.components(separatedBy: "token.issued").count - 1 >= 2)
        }
    }
}
