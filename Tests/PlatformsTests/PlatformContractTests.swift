import AsyncHTTPClient
import PlatformSimulator
import Platforms
import Testing
import TokenLedger

/// Every platform client over real HTTP against the simulator: the request matches the documented
/// contract, and success, rejected credentials, quota, busy, garbage and timeout come back as one
/// kind each, with the platform's own code kept.
@Suite(.serialized)
struct PlatformContractTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var appid: String
        var options: [String: String]
        var endpoint: String
        var sent: @Sendable ([String: String]) -> Bool
        var rejectedCode: String
        var quotaKind: PlatformError.Kind
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "wecom", appid: "ww1:1000002", options: [:], endpoint: "GET /cgi-bin/gettoken",
             sent: { $0["corpid"] == "ww1" && $0["corpsecret"] == "s3cr=t&x" }, rejectedCode: "40001", quotaKind: .rateLimited),
        Case(name: "feishu", appid: "cli_1", options: [:], endpoint: "POST /open-apis/auth/v3/tenant_access_token/internal",
             sent: { $0["app_id"] == "cli_1" && $0["app_secret"] == "s3cr=t&x" }, rejectedCode: "10014", quotaKind: .rateLimited),
        Case(name: "feishu", appid: "cli_1", options: ["token": "app"], endpoint: "POST /open-apis/auth/v3/app_access_token/internal",
             sent: { $0["app_id"] == "cli_1" }, rejectedCode: "10014", quotaKind: .rateLimited),
        Case(name: "lark", appid: "cli_2", options: [:], endpoint: "POST /open-apis/auth/v3/tenant_access_token/internal",
             sent: { $0["app_id"] == "cli_2" }, rejectedCode: "10014", quotaKind: .rateLimited),
        Case(name: "dingtalk", appid: "ding1", options: [:], endpoint: "POST /v1.0/oauth2/accessToken",
             sent: { $0["appKey"] == "ding1" && $0["appSecret"] == "s3cr=t&x" }, rejectedCode: "invalidClientSecret", quotaKind: .rateLimited),
        Case(name: "dingtalk", appid: "ding2", options: ["api": "old"], endpoint: "GET /gettoken",
             sent: { $0["appkey"] == "ding2" && $0["appsecret"] == "s3cr=t&x" }, rejectedCode: "40089", quotaKind: .rateLimited),
        Case(name: "douyin", appid: "tt1", options: [:], endpoint: "POST /api/apps/v2/token",
             sent: { $0["appid"] == "tt1" && $0["grant_type"] == "client_credential" }, rejectedCode: "40017", quotaKind: .rateLimited),
        Case(name: "oauth2", appid: "client 1", options: ["scope": "read write", "audience": "api"], endpoint: "POST /oauth2/token",
             sent: { $0["auth"] == "basic" && $0["client_id"] == "client 1" && $0["client_secret"] == "s3cr=t&x" && $0["scope"] == "read write" && $0["audience"] == "api" && $0["grant_type"] == "client_credentials" },
             rejectedCode: "invalid_client", quotaKind: .rateLimited),
        Case(name: "oauth2", appid: "client2", options: ["auth": "post"], endpoint: "POST /oauth2/token",
             sent: { $0["auth"] == nil && $0["client_id"] == "client2" && $0["client_secret"] == "s3cr=t&x" }, rejectedCode: "invalid_client", quotaKind: .rateLimited),
    ]

    static func withPlatform<T: Sendable>(
        _ testCase: Case,
        timeout: Duration = .seconds(5),
        _ body: @Sendable (any Platform, SimulatorState) async throws -> T
    ) async throws -> T {
        try await PlatformSimulatorServer.withRunning { simulator in
            let registered = testCase.appid.split(separator: ":").first.map(String.init) ?? testCase.appid
            simulator.state.register(appid: registered, secret: "s3cr=t&x")
            let platforms = PlatformRegistry.make(
                baseURLs: [
                    testCase.name: simulator.baseURL,
                    "dingtalk.oapi": simulator.baseURL,
                    "oauth2.token_url": simulator.baseURL + "/oauth2/token",
                ],
                // The simulator listens on loopback, as a company's own token server might.
                tokenURLPolicy: TokenURLPolicy(allowPrivateNetworks: true),
                httpClient: PlatformRegistry.httpClient,
                timeout: timeout
            )
            return try await body(try #require(platforms[testCase.name]), simulator.state)
        }
    }

    static func request(_ testCase: Case, secret: String = "s3cr=t&x") -> TokenRequest {
        TokenRequest(appid: testCase.appid, secret: secret, options: testCase.options, reason: .miss)
    }

    @Test(arguments: cases)
    func sendsTheDocumentedRequestAndReadsTheToken(_ testCase: Case) async throws {
        try await Self.withPlatform(testCase) { platform, state in
            let issued = try await platform.fetchToken(Self.request(testCase))
            #expect(state.isValid(token: issued.token))
            #expect(issued.expiresIn > 7000)
            let sent = try #require(state.requests().last)
            #expect(sent.endpoint == testCase.endpoint)
            #expect(testCase.sent(sent.fields), "\(sent.fields)")
        }
    }

    @Test(arguments: cases)
    func failuresComeBackAsOneKindEach(_ testCase: Case) async throws {
        // A hanging platform is given up on at the timeout: short here, so the nine cases stay quick.
        try await Self.withPlatform(testCase, timeout: .milliseconds(400)) { platform, state in
            await Self.expect(.credentialsRejected, code: testCase.rejectedCode) { try await platform.fetchToken(Self.request(testCase, secret: "wrong")) }
            let registered = testCase.appid.split(separator: ":").first.map(String.init) ?? testCase.appid
            let behaviours: [(SimulatorBehaviour, PlatformError.Kind)] = [
                (.quotaExhausted, testCase.quotaKind), (.busy, .busy), (.garbage, .malformedAnswer), (.hang, .unreachable), (.http500, .unreachable),
            ]
            for (behaviour, kind) in behaviours {
                state.setBehaviour(behaviour, for: registered)
                let started = ContinuousClock.now
                await Self.expect(kind, code: nil) { try await platform.fetchToken(Self.request(testCase)) }
                #expect(ContinuousClock.now - started < .seconds(3), "\(behaviour)")
            }
        }
    }

    @Test func feishuHandsBackTheSameTokenWhileMoreThanHalfAnHourRemainsAndStoresLongTokensWhole() async throws {
        let feishu = Self.cases[1]
        try await Self.withPlatform(feishu) { platform, state in
            state.register(appid: "cli_1", secret: "s3cr=t&x", expiresIn: 7200, tokenLength: 4096)
            let first = try await platform.fetchToken(Self.request(feishu))
            let second = try await platform.fetchToken(Self.request(feishu))
            #expect(first.token == second.token)
            #expect(first.token.utf8.count == 4096 + 2)
            #expect(platform.renewalWindow(options: [:]) == 1800)
        }
    }

    @Test func oauth2WithoutExpiresInUsesTheConfiguredLifeAndRefusesABadScope() async throws {
        let oauth2 = Self.cases[7]
        // A closed port is retried until the timeout (the HTTP client's connection pool does): keep it short.
        try await Self.withPlatform(oauth2, timeout: .milliseconds(500)) { platform, _ in
            var request = Self.request(oauth2)
            request.options["scope"] = "forbidden"
            await Self.expect(.refused, code: "invalid_scope") { try await platform.fetchToken(request) }
            request.options = ["token_url": "http://127.0.0.1:9/none"]
            await Self.expect(.unreachable, code: nil) { try await platform.fetchToken(request) }
            // With private networks refused, the same URL is refused before any call.
            let strict = OAuth2(httpClient: PlatformRegistry.httpClient)
            await Self.expect(.refused, code: "token_url_refused") { try await strict.fetchToken(request) }
            await #expect(throws: LedgerError.self) { try await strict.checkOptions(request.options) }
        }
    }

    static func expect(_ kind: PlatformError.Kind, code: String?, _ body: () async throws -> IssuedToken) async {
        do {
            _ = try await body()
            Issue.record("expected \(kind), got a token")
        } catch let error as PlatformError {
            #expect(error.kind == kind, "\(error)")
            if let code { #expect(error.platformCode == code) }
        } catch {
            Issue.record("expected PlatformError, got \(error)")
        }
    }
}
