import LedgerTestSupport
import Foundation
import NIOHTTP1
import PlatformSimulator
import Testing
import _CryptoExtras

/// The service as a user runs it by default (embedded SQLite log), over real HTTP.
@Suite(.serialized)
struct EmbeddedServiceTests {
    /// The commands print what the API recorded, and neither they nor a trace log show a secret
    /// or a whole token (the API's answers themselves are tested in-process, in TokenHTTPTests).
    @Test(.timeLimit(.minutes(2)))
    func theCommandsAndTheLogShowNoSecretOrWholeToken() async throws {
        try await withSimulator { simulator in
            simulator.state.register(appid: "wxapp", secret: "right-secret-value")
            // Everything logged, to check that no secret or token reaches the logs.
            let service = try await EmbeddedServer.start(simulator: simulator, extra: ["LOG_LEVEL": "trace"])
            defer { service.server.stop() }
            let path = "/token/demo/wechat/wxapp"
            let token = try #require(try await HTTP.envelope("GET", service.url(path + "?secret=right-secret-value")).envelope.data)
            #expect(simulator.state.isValid(token: token))
            let second = try #require(try await HTTP.envelope("PUT", service.url(path + "?nowToken=\(token)")).envelope.data)
            let third = try #require(try await HTTP.envelope("PUT", service.url(path), body: "{}").envelope.data)
            #expect(Set([token, second, third]).count == 3)

            // The command prints the history, also as JSON lines.
            let lines = try Command.run(["history", "demo", "wechat", "wxapp"], folder: service.folder)
            #expect(lines.status == 0)
            #expect(lines.output.contains("token.issued"))
            #expect(lines.output.contains("reason=compare"))
            let json = try Command.run(["history", "demo", "wechat", "wxapp", "--json"], folder: service.folder)
            let objects = json.output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(objects.count == 4, "credentials.set and three tokens")
            // The global feed, filtered, from the command.
            let events = try Command.run(["events", "--type", "token.issued", "--project", "demo", "--json"], folder: service.folder)
            #expect(events.status == 0)
            #expect(events.output.split(separator: "\n").count == 3)
            for secretOrToken in ["right-secret-value", token, second, third] {
                #expect(!lines.output.contains(secretOrToken) && !json.output.contains(secretOrToken) && !events.output.contains(secretOrToken))
            }
            let log = service.server.log()
            #expect(log.contains("token issued") && log.contains("ledger.request_id"), "the log was written, with request ids")
            for secretOrToken in ["right-secret-value", token, second, third] {
                #expect(!log.contains(secretOrToken), "no secret or whole token in the logs")
            }
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aRestartServesTheRecordedTokenWithoutAskingThePlatform() async throws {
        try await withSimulator { simulator in
            simulator.state.register(appid: "wxrestart", secret: "s")
            let first = try await EmbeddedServer.start(simulator: simulator)
            let token = try await HTTP.envelope("GET", first.url("/token/demo/wechat/wxrestart?secret=s")).envelope.data
            let started = ContinuousClock.now
            #expect(first.server.stop() == 0, "SIGTERM drains and exits 0")
            #expect(ContinuousClock.now - started < .seconds(10))
            let second = try await EmbeddedServer.start(simulator: simulator, folder: first.folder)
            defer { second.server.stop() }
            #expect(try await HTTP.envelope("GET", second.url("/token/demo/wechat/wxrestart")).envelope.data == token)
            #expect(simulator.state.calls(appid: "wxrestart") == 1)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func everyPlatformIsServedThroughTheLedgerWithItsOptionsAndLongTokensWhole() async throws {
        try await withSimulator { simulator in
            let root = simulator.baseURL
            let service = try await EmbeddedServer.start(simulator: simulator, extra: [
                "PLATFORMS_FEISHU_BASE_URL": root, "PLATFORMS_LARK_BASE_URL": root, "PLATFORMS_WECOM_BASE_URL": root,
                "PLATFORMS_DINGTALK_BASE_URL": root, "PLATFORMS_DINGTALK_OAPI_BASE_URL": root, "PLATFORMS_DOUYIN_BASE_URL": root,
            ])
            defer { service.server.stop() }
            simulator.state.register(appid: "cli_long", secret: "fs", tokenLength: 4096)
            simulator.state.register(appid: "client-x", secret: "os")
            simulator.state.register(appid: "ww9", secret: "ws")
            simulator.state.register(appid: "dk", secret: "ds")
            simulator.state.register(appid: "tt", secret: "ts")
            let credentials: [(String, String)] = [
                ("/token/demo/feishu/cli_long", #"{"secret":"fs","options":{"token":"app"}}"#),
                ("/token/demo/oauth2/client-x", #"{"secret":"os","options":{"token_url":"\#(root)/oauth2/token","auth":"post","scope":"a b"}}"#),
                ("/token/demo/wecom/ww9:1000002", #"{"secret":"ws"}"#),
                ("/token/demo/dingtalk/dk", #"{"secret":"ds","options":{"api":"old"}}"#),
                ("/token/demo/douyin/tt", #"{"secret":"ts"}"#),
            ]
            for (path, body) in credentials {
                let (status, set) = try await HTTP.request("PUT", service.url(path + "/credentials"), body: body)
                #expect(status == 200, "\(path): \(set)")
                let answer = try await HTTP.envelope("GET", service.url(path))
                #expect(answer.status == 200, "\(path): \(answer.envelope.error)")
                #expect(answer.envelope.data.map { simulator.state.isValid(token: $0) } == true, "\(path)")
            }
            let long = try await HTTP.envelope("GET", service.url("/token/demo/feishu/cli_long"))
            #expect(long.envelope.data?.hasPrefix("a-") == true, "the app token was asked for")
            #expect(long.envelope.data?.utf8.count == 4098, "a 4 KB token is stored and served whole")
            let sent = simulator.state.requests()
            #expect(sent.contains { $0.endpoint == "POST /oauth2/token" && $0.fields["scope"] == "a b" && $0.fields["client_secret"] == "os" })
            #expect(sent.contains { $0.endpoint == "GET /gettoken" && $0.appid == "dk" })
            let bad = try await HTTP.envelope("PUT", service.url("/token/demo/oauth2/client-x/credentials"), body: #"{"secret":"os","options":{"scope":5}}"#)
            #expect(bad.status == 400)
            #expect(bad.envelope.errorCode == "invalid_input")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func alipayRefreshTokensAreRecordedSealedAndSurviveAReplay() async throws {
        try await withSimulator { simulator in
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            simulator.state.registerAlipay(appid: "2021000000000002", publicKeyPEM: key.publicKey.pemRepresentation, authCode: "c0de")
            let extra = ["PLATFORMS_ALIPAY_BASE_URL": simulator.baseURL + "/gateway.do"]
            let first = try await EmbeddedServer.start(simulator: simulator, extra: extra)
            let path = "/token/isv/alipay/2021000000000002:shop-1"
            let body = try JSONSerialization.data(withJSONObject: [
                "secret": key.pemRepresentation,
                "options": ["auth_code": "c0de", "alipay_public_key": simulator.state.alipayPublicKeyPEM],
            ])
            let (status, _) = try await HTTP.request("PUT", first.url(path + "/credentials"), body: String(decoding: body, as: UTF8.self))
            #expect(status == 200)
            let token = try #require(try await HTTP.envelope("GET", first.url(path)).envelope.data)
            let refreshed = try #require(try await HTTP.envelope("PUT", first.url(path)).envelope.data)
            #expect(refreshed != token)
            first.server.stop()
            // A new process folds the log again, refresh token included.
            let second = try await EmbeddedServer.start(simulator: simulator, folder: first.folder, extra: extra)
            defer { second.server.stop() }
            let again = try await HTTP.envelope("PUT", second.url(path))
            #expect(again.status == 200, "\(again.envelope.error)")
            #expect(again.envelope.data.map { simulator.state.isValid(token: $0) } == true)
            let (_, history) = try await HTTP.request("GET", second.url(path + "/history"))
            let current = try #require(simulator.state.alipayRefreshToken(appid: "2021000000000002"))
            #expect(!history.contains(current) && !history.contains("PRIVATE KEY"), "neither refresh tokens nor keys are shown")
            let log = ["", "-wal"].map { (try? String(contentsOfFile: first.folder + "/ledger.sqlite" + $0, encoding: .isoLatin1)) ?? "" }.joined()
            #expect(log.contains("token.issued"), "the log's file was read")
            #expect(!log.contains(current) && !log.contains("PRIVATE KEY"), "both are sealed at rest")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func metricsMoveAsRequestsAreMade() async throws {
        try await withSimulator { simulator in
            simulator.state.register(appid: "wxm", secret: "s")
            let service = try await EmbeddedServer.start(simulator: simulator)
            defer { service.server.stop() }
            _ = try await HTTP.envelope("GET", service.url("/token/demo/wechat/wxm?secret=s"))
            for _ in 0..<5 { _ = try await HTTP.envelope("GET", service.url("/token/demo/wechat/wxm")) }
            _ = try await HTTP.envelope("GET", service.url("/token/demo/nosuch/wxm"))
            let (status, text) = try await HTTP.request("GET", service.url("/metrics"))
            #expect(status == 200)
            #expect(text.contains(#"tokenledger_reads_total{tier="memory"} 5"#), "\(text)")
            #expect(text.contains(#"tokenledger_upstream_calls_total{platform="wechat",outcome="ok"} 1"#) || text.contains(#"tokenledger_upstream_calls_total{outcome="ok",platform="wechat"} 1"#))
            #expect(text.contains(#"tokenledger_refreshes_total{reason="miss"} 1"#))
            #expect(text.contains("tokenledger_projection_heartbeat_seconds"))
            #expect(text.contains("hb_requests{"))
            #expect(text.contains(#"http_response_status_code="400""#), "the 400 is counted as a 400")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aRotatedSecretsKeySealsNewEventsWhileOldOnesStillOpen() async throws {
        try await withSimulator { simulator in
            simulator.state.register(appid: "wxrot", secret: "s")
            let old = TestEnvironment.secretsKey()
            let first = try await EmbeddedServer.start(simulator: simulator, extra: ["SECRETS_KEY": old, "SECRETS_KEY_ID": "k1"])
            let token = try #require(try await HTTP.envelope("GET", first.url("/token/demo/wechat/wxrot?secret=s")).envelope.data)
            first.server.stop()
            let second = try await EmbeddedServer.start(simulator: simulator, folder: first.folder, extra: [
                "SECRETS_KEY": TestEnvironment.secretsKey(), "SECRETS_KEY_ID": "k2", "SECRETS_PREVIOUS_KEYS": "k1:\(old)",
            ])
            #expect(try await HTTP.envelope("GET", second.url("/token/demo/wechat/wxrot")).envelope.data == token, "old events still open")
            let renewed = try await HTTP.envelope("PUT", second.url("/token/demo/wechat/wxrot"))
            #expect(renewed.status == 200)
            second.server.stop()
            let log = ["", "-wal"].map { (try? String(contentsOfFile: first.folder + "/ledger.sqlite" + $0, encoding: .isoLatin1)) ?? "" }.joined()
            #expect(log.contains("v2.k1.") && log.contains("v2.k2."), "new events are sealed with the new key")
            // Without the old key the old events do not open: the service says so rather than serving garbage.
            let third = try await EmbeddedServer.start(simulator: simulator, folder: first.folder, extra: [
                "SECRETS_KEY": TestEnvironment.secretsKey(), "SECRETS_KEY_ID": "k3",
            ])
            defer { third.server.stop() }
            let answer = try await HTTP.envelope("GET", third.url("/token/demo/wechat/wxrot"))
            #expect(answer.status == 500)
            #expect(answer.envelope.errorCode == "corrupt_event")
            #expect(answer.envelope.error.contains("secrets.previous_keys"))
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func rotateKeyResealsCredentialsSoThatTheOldKeyCanBeRetired() async throws {
        try await withSimulator { simulator in
            simulator.state.register(appid: "wxreseal", secret: "s")
            let old = TestEnvironment.secretsKey()
            let oldSettings = ["SECRETS_KEY": old, "SECRETS_KEY_ID": "k1"]
            let first = try await EmbeddedServer.start(simulator: simulator, extra: oldSettings)
            _ = try #require(try await HTTP.envelope("GET", first.url("/token/demo/wechat/wxreseal?secret=s")).envelope.data)
            first.server.stop()

            // Step 1: the next key's settings, computed from the current configuration.
            let printed = try Command.run(["rotate-key", "new"], folder: first.folder, environment: oldSettings)
            #expect(printed.status == 0, "\(printed.output)")
            var next: [String: String] = [:]
            for line in printed.output.split(separator: "\n") where !line.hasPrefix("#") {
                let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                if parts.count == 2 { next[parts[0]] = parts[1] }
            }
            #expect(next["SECRETS_KEY_ID"] == "k2")
            #expect(next["SECRETS_PREVIOUS_KEYS"] == "k1:\(old)")
            let newKey = try #require(next["SECRETS_KEY"])

            // Step 2: reseal with the new configuration; a second run has nothing left to do.
            let resealed = try Command.run(["rotate-key", "reseal"], folder: first.folder, environment: next)
            #expect(resealed.status == 0, "\(resealed.output)")
            #expect(resealed.output.contains("resealed 1 stream(s) with key k2"), "\(resealed.output)")
            #expect(try Command.run(["rotate-key", "reseal"], folder: first.folder, environment: next).output.contains("resealed 0 stream(s)"))
            let history = try Command.run(["history", "demo", "wechat", "wxreseal", "--json"], folder: first.folder, environment: next)
            #expect(history.output.contains("rotate-key"), "the reseal is in the log, with who did it")

            // The old key retired: the secret opens, the token it sealed does not and is fetched anew.
            let retired = try await EmbeddedServer.start(simulator: simulator, folder: first.folder, extra: ["SECRETS_KEY": newKey, "SECRETS_KEY_ID": "k2"])
            defer { retired.server.stop() }
            let answer = try await HTTP.envelope("GET", retired.url("/token/demo/wechat/wxreseal"))
            #expect(answer.status == 200, "\(answer.envelope.error)")
            #expect(simulator.state.calls(appid: "wxreseal") == 2, "asked anew (stable_token may hand back the same token)")
            #expect(answer.envelope.data.map { simulator.state.isValid(token: $0) } == true)
            #expect(try await HTTP.envelope("GET", retired.url("/token/demo/wechat/wxreseal")).envelope.data == answer.envelope.data)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func appsDeclaredInConfigurationNeedNoSecretOnTheWire() async throws {
        try await withSimulator { simulator in
            simulator.state.register(appid: "wxcfg1", secret: "one")
            simulator.state.register(appid: "wxcfg2", secret: "two")
            let service = try await EmbeddedServer.start(
                simulator: simulator,
                extra: ["APPS": "demo/wechat/wxcfg1=one,demo/wechat/wxcfg2=$WXCFG2_SECRET", "WXCFG2_SECRET": "two"]
            )
            defer { service.server.stop() }
            for appid in ["wxcfg1", "wxcfg2"] {
                let answer = try await HTTP.envelope("GET", service.url("/token/demo/wechat/\(appid)"))
                #expect(answer.status == 200, "\(appid)")
                #expect(answer.envelope.data.map { simulator.state.isValid(token: $0) } == true)
            }
            let (_, history) = try await HTTP.request("GET", service.url("/token/demo/wechat/wxcfg1/history"))
            #expect(history.contains("\"actor\":\"config\""))
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func anUnreachablePostgresAtStartIsAClearErrorAndANonZeroExit() async throws {
        let binary = try TestEnvironment.binary("TOKENLEDGER_BIN", fallback: "tokenledger")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--config-dir", TestEnvironment.repositoryRoot + "/config"]
        var environment = ProcessInfo.processInfo.environment
        environment["TOKENLEDGER_ENV"] = "test"
        environment["HTTP_PORT"] = String(try TestEnvironment.freePort())
        environment["EVENTLOG_URL"] = "postgres://postgres@127.0.0.1:\(try TestEnvironment.freePort())/nothing"
        environment["EVENTLOG_TIMEOUT_MS"] = "2000"
        environment["SECRETS_KEY"] = TestEnvironment.secretsKey()
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus != 0)
        #expect(message.contains("cannot reach PostgreSQL"), "\(message)")
    }
}
