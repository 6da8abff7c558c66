import Foundation
import Hummingbird
import HummingbirdTesting
import LedgerTestSupport
import PlatformSimulator
import TokenApp
import TokenHTTP
import Testing

/// The application as `serve` builds it, from a configuration, driven in-process.
@Suite(.serialized)
struct ApplicationTests {
    @Test(.timeLimit(.minutes(1)))
    func declaredAppsAreRegisteredBeforeTheServerStarts() async throws {
        try await withSimulator { simulator in
            simulator.state.register(appid: "wxdeclared", secret: "declared-secret")
            let fixture = try AppFixture(simulator: simulator)
            let configuration = try await fixture.configuration(["APPS": "demo/wechat/wxdeclared=declared-secret"])
            let app = try await buildApplication(configuration: configuration)
            try await app.test(.router) { client in
                // The first request needs no secret: the app was registered before serving.
                let answer = try await client.execute(uri: "/token/demo/wechat/wxdeclared", method: .get)
                #expect(answer.status == .ok)
                let token = try #require(simulator.state.current(appid: "wxdeclared"))
                #expect(String(buffer: answer.body).contains(token))
                let history = try await client.execute(uri: "/token/demo/wechat/wxdeclared/history", method: .get)
                #expect(String(buffer: history.body).contains("\"actor\":\"config\""))
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aRestartServesTheRecordedTokenWithoutAskingThePlatform() async throws {
        try await withSimulator { simulator in
            simulator.state.register(appid: "wxrestart", secret: "restart-secret")
            let fixture = try AppFixture(simulator: simulator)
            let configuration = try await fixture.configuration()
            let first = try await buildApplication(configuration: configuration)
            let token = try await first.test(.live) { client in
                let answer = try await client.execute(uri: "/token/demo/wechat/wxrestart?secret=restart-secret", method: .get)
                #expect(answer.status == .ok)
                return try #require(simulator.state.current(appid: "wxrestart"))
            }
            #expect(simulator.state.calls(appid: "wxrestart") == 1)
            // The same log, opened again by a new application (the first closed its file when its group stopped).
            let second = try await buildApplication(configuration: configuration)
            try await second.test(.live) { client in
                let answer = try await client.execute(uri: "/token/demo/wechat/wxrestart", method: .get)
                #expect(answer.status == .ok)
                #expect(String(buffer: answer.body).contains(token))
            }
            #expect(simulator.state.calls(appid: "wxrestart") == 1, "the recorded token was served; the platform was not asked")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func keysModeAsksForAKeyAndNoneModeDoesNot() async throws {
        try await withSimulator { simulator in
            simulator.state.register(appid: "wxauth", secret: "auth-secret")
            let fixture = try AppFixture(simulator: simulator)
            let (key, entry) = AccessControl.newKey(id: "registrar", scopes: [.read, .admin], projects: ["demo"])
            let keys = try await buildApplication(configuration: fixture.configuration(["AUTH_MODE": "keys", "AUTH_KEYS": entry]))
            try await keys.test(.router) { client in
                let anonymous = try await client.execute(uri: "/token/demo/wechat/wxauth?secret=auth-secret", method: .get)
                #expect(anonymous.status == .unauthorized)
                let keyed = try await client.execute(
                    uri: "/token/demo/wechat/wxauth?secret=auth-secret",
                    method: .get,
                    headers: [.authorization: "Bearer \(key)"]
                )
                #expect(keyed.status == .ok)
            }
            let open = try await buildApplication(configuration: fixture.configuration(["AUTH_MODE": "none"]))
            try await open.test(.router) { client in
                let answer = try await client.execute(uri: "/token/demo/wechat/wxauth", method: .get)
                #expect(answer.status == .ok)
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func withSharedReadModelsDeclaredAppsAreRegisteredWhileServingAndServingGoesOn() async throws {
        let redis = try TestEnvironment.required("TOKENLEDGER_TEST_REDIS_URL")
        try await withSimulator { simulator in
            simulator.state.register(appid: "wxshared", secret: "shared-secret")
            let fixture = try AppFixture(simulator: simulator)
            let project = uniqueProject("app")
            let configuration = try await fixture.configuration(["REDIS_URL": redis, "APPS": "\(project)/wechat/wxshared=shared-secret"])
            let app = try await buildApplication(configuration: configuration)
            try await app.test(.live) { client in
                // The registration runs as a one-shot service once the server listens.
                let registered = try await eventually(5) {
                    try await client.execute(uri: "/token/\(project)/wechat/wxshared", method: .get).status == .ok
                }
                #expect(registered)
                // Its return stopped nothing: the replica still serves, from the same token.
                try await Task.sleep(for: .milliseconds(300))
                let again = try await client.execute(uri: "/token/\(project)/wechat/wxshared", method: .get)
                #expect(again.status == .ok)
                #expect(String(buffer: again.body).contains(try #require(simulator.state.current(appid: "wxshared"))))
                #expect(simulator.state.calls(appid: "wxshared") == 1)
            }
        }
    }
}

/// Idle and stalled connections are closed after `http.idle_timeout_ms`; a connection in use is not.
struct IdleConnectionTests {
    @Test(.timeLimit(.minutes(1)))
    func idleAndStalledConnectionsAreClosedAfterTheIdleTimeout() async throws {
        try await withSimulator { simulator in
            let fixture = try AppFixture(simulator: simulator)
            let app = try await buildApplication(configuration: try await fixture.configuration(["HTTP_IDLE_TIMEOUT_MS": "300"]))
            try await app.test(.live) { client in
                let port = try #require(client.port)
                // Nothing sent, and a head that stops halfway: closed, with nothing answered.
                for request in ["", "GET /readyz HTTP/1.1\r\nHost: x\r\nX-Slow:"] {
                    let answer = try await RawHTTP.exchange(port: port, request, wait: .seconds(5))
                    #expect(answer.closed && answer.text.isEmpty, "closed: \(request.debugDescription)")
                }
                // A request answered, then idle: closed after its answer.
                let used = try await RawHTTP.exchange(port: port, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n", wait: .seconds(5))
                #expect(used.closed && used.text.hasPrefix("HTTP/1.1 200"))
                // A watch being answered is not idle, however long it lasts.
                let watch = try await RawHTTP.exchange(port: port, "GET /events/watch HTTP/1.1\r\nHost: x\r\n\r\n", wait: .milliseconds(1500))
                #expect(!watch.closed && watch.text.hasPrefix("HTTP/1.1 200") && watch.text.contains("text/event-stream"), "\(watch.text)")
            }
            #expect(try await fixture.configuration().http.idleTimeout == .seconds(60), "60 s by default")
            await #expect(throws: (any Error).self) { try await fixture.configuration(["HTTP_IDLE_TIMEOUT_MS": "0"]) }
        }
    }
}
