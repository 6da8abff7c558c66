import AsyncHTTPClient
import PlatformSimulator
import Platforms
import Testing
import TokenLedger

/// The WeChat client over real HTTP against the simulator: the contract it sends, and every
/// documented error mapped to one kind.
@Suite(.serialized)
struct WeChatTests {
    static func withWeChat<T: Sendable>(
        timeout: Duration = .seconds(5),
        _ body: @Sendable (WeChat, SimulatorState) async throws -> T
    ) async throws -> T {
        try await PlatformSimulatorServer.withRunning { simulator in
            simulator.state.register(appid: "wx1", secret: "s&e+c=r t")
            return try await body(WeChat(baseURL: simulator.baseURL, httpClient: .shared, timeout: timeout), simulator.state)
        }
    }

    static func request(_ secret: String = "s&e+c=r t", mode: String? = nil, replacing: String? = nil) -> TokenRequest {
        TokenRequest(appid: "wx1", secret: secret, options: mode.map { ["mode": $0] } ?? [:], replacing: replacing, reason: .miss)
    }

    @Test func stableTokenIsAskedWithoutForceAndComesBackTheSame() async throws {
        try await Self.withWeChat { wechat, state in
            let first = try await wechat.fetchToken(Self.request())
            let second = try await wechat.fetchToken(Self.request())
            #expect(first.token == second.token)
            #expect(first.expiresIn > 7000)
            let sent = state.requests()
            #expect(sent.map(\.endpoint) == ["POST /cgi-bin/stable_token", "POST /cgi-bin/stable_token"])
            #expect(sent[0].fields["grant_type"] == "client_credential")
            #expect(sent[0].fields["secret"] == "s&e+c=r t")
            #expect(sent[0].fields["force_refresh"] == "0")
        }
    }

    @Test func replacingTheCurrentTokenForcesOnlyWhenWeChatHandsItBack() async throws {
        try await Self.withWeChat { wechat, state in
            let current = try await wechat.fetchToken(Self.request()).token
            let other = try await wechat.fetchToken(Self.request(replacing: "some-older-token"))
            #expect(other.token == current, "not the reported token: no force")
            #expect(state.calls(appid: "wx1") == 2)
            let forced = try await wechat.fetchToken(Self.request(replacing: current))
            #expect(forced.token != current)
            #expect(state.calls(appid: "wx1") == 4, "asked once without force, then forced")
            #expect(state.requests().last?.fields["force_refresh"] == "1")
            #expect(state.isValid(token: current), "the old one stays valid a while")
        }
    }

    @Test func classicTokenIsAGetWithTheDocumentedQueryAndNewEachTime() async throws {
        try await Self.withWeChat { wechat, state in
            let first = try await wechat.fetchToken(Self.request(mode: "classic"))
            let second = try await wechat.fetchToken(Self.request(mode: "classic"))
            #expect(first.token != second.token)
            #expect(state.isValid(token: first.token) && state.isValid(token: second.token))
            let sent = try #require(state.requests().first)
            #expect(sent.endpoint == "GET /cgi-bin/token")
            #expect(sent.fields == ["grant_type": "client_credential", "appid": "wx1", "secret": "s&e+c=r t"])
        }
    }

    @Test func documentedErrorsMapToOneKindEach() async throws {
        try await Self.withWeChat(timeout: .seconds(1)) { wechat, state in
            await Self.expect(.credentialsRejected, code: "40001") { try await wechat.fetchToken(Self.request("wrong")) }
            await Self.expect(.credentialsRejected, code: "40013") {
                try await wechat.fetchToken(TokenRequest(appid: "unknown", secret: "s", reason: .miss))
            }
            let cases: [(SimulatorBehaviour, PlatformError.Kind, String?)] = [
                (.busy, .busy, "-1"),
                (.quotaExhausted, .quotaExhausted, "45009"),
                (.garbage, .malformedAnswer, nil),
                (.http500, .unreachable, "http 500"),
                (.hang, .unreachable, nil),
            ]
            for (behaviour, kind, code) in cases {
                state.setBehaviour(behaviour, for: "wx1")
                let started = ContinuousClock.now
                await Self.expect(kind, code: code) { try await wechat.fetchToken(Self.request()) }
                #expect(ContinuousClock.now - started < .seconds(3), "\(behaviour) answers within the timeout")
            }
            await Self.expect(.refused, code: nil) { try await wechat.fetchToken(Self.request(mode: "other")) }
        }
    }

    @Test func aClosedPortIsUnreachable() async throws {
        // A refused connection is retried until the timeout (the HTTP client's pool does): keep it short.
        let wechat = WeChat(baseURL: "http://127.0.0.1:9", httpClient: .shared, timeout: .milliseconds(500))
        await Self.expect(.unreachable, code: nil) { try await wechat.fetchToken(Self.request()) }
    }

    @Test func answersAreParsedStrictly() throws {
        #expect(throws: PlatformError(.malformedAnswer, platformMessage: "the answer has no access_token and expires_in")) {
            try WeChat.parseForTesting(#"{"access_token":"","expires_in":7200}"#)
        }
        #expect(throws: PlatformError(.malformedAnswer, platformMessage: "the answer has no access_token and expires_in")) {
            try WeChat.parseForTesting(#"{"access_token":"t","expires_in":0}"#)
        }
        #expect(try WeChat.parseForTesting(#"{"errcode":0,"access_token":"t","expires_in":5}"#) == IssuedToken(token: "t", expiresIn: 5))
        #expect(throws: PlatformError(.rateLimited, platformCode: "45011", platformMessage: "api minute-quota reach limit")) {
            try WeChat.parseForTesting(#"{"errcode":45011,"errmsg":"api minute-quota reach limit"}"#)
        }
    }

    static func expect(_ kind: PlatformError.Kind, code: String?, _ body: () async throws -> IssuedToken) async {
        do {
            _ = try await body()
            Issue.record("expected \(kind), got a token")
        } catch let error as PlatformError {
            #expect(error.kind == kind)
            if let code { #expect(error.platformCode == code) }
        } catch {
            Issue.record("expected PlatformError, got \(error)")
        }
    }
}
