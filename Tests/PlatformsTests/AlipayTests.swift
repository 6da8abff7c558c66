import AsyncHTTPClient
import Foundation
import PlatformSimulator
import Platforms
import Testing
import TokenLedger
import _CryptoExtras

/// Alipay's app authorisation token over real HTTP: RSA2-signed requests, signed answers,
/// authorisation code first, then one-time refresh tokens.
@Suite(.serialized)
struct AlipayTests {
    static func withAlipay<T: Sendable>(
        timeout: Duration = .seconds(5),
        _ body: @Sendable (Alipay, SimulatorState, String) async throws -> T
    ) async throws -> T {
        try await PlatformSimulatorServer.withRunning { simulator in
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            simulator.state.registerAlipay(appid: "2021000000000001", publicKeyPEM: key.publicKey.pemRepresentation, authCode: "code-1")
            let alipay = Alipay(gatewayURL: simulator.baseURL + "/gateway.do", httpClient: .shared, timeout: timeout)
            return try await body(alipay, simulator.state, key.pemRepresentation)
        }
    }

    static func request(_ privateKey: String, options: [String: String], refreshToken: String? = nil) -> TokenRequest {
        TokenRequest(appid: "2021000000000001:merchant-a", secret: privateKey, options: options, reason: .miss, refreshToken: refreshToken)
    }

    @Test func theCodeThenEachRefreshTokenOnceWithSignaturesCheckedBothWays() async throws {
        try await Self.withAlipay { alipay, state, privateKey in
            let options = ["auth_code": "code-1", "alipay_public_key": state.alipayPublicKeyPEM]
            let first = try await alipay.fetchToken(Self.request(privateKey, options: options))
            #expect(state.isValid(token: first.token))
            let refresh = try #require(first.refreshToken)
            let sent = try #require(state.requests().last)
            #expect(sent.endpoint == "POST /gateway.do")
            #expect(sent.fields["app_id"] == "2021000000000001")
            #expect(sent.fields["method"] == "alipay.open.auth.token.app")
            #expect(sent.fields["sign_type"] == "RSA2")
            #expect(sent.fields["biz_content"] == #"{"code":"code-1","grant_type":"authorization_code"}"#)

            let second = try await alipay.fetchToken(Self.request(privateKey, options: options, refreshToken: refresh))
            #expect(second.token != first.token)
            #expect(second.refreshToken != refresh)
            #expect(state.requests().last?.fields["biz_content"] == #"{"grant_type":"refresh_token","refresh_token":"\#(refresh)"}"#)
            // A used refresh token, a used code, or another key are refused.
            await Self.expect(.credentialsRejected) { try await alipay.fetchToken(Self.request(privateKey, options: options, refreshToken: refresh)) }
            await Self.expect(.credentialsRejected) { try await alipay.fetchToken(Self.request(privateKey, options: options)) }
            let stranger = try _RSA.Signing.PrivateKey(keySize: .bits2048).pemRepresentation
            await Self.expect(.credentialsRejected) { try await alipay.fetchToken(Self.request(stranger, options: options, refreshToken: second.refreshToken)) }
            await Self.expect(.credentialsRejected) { try await alipay.fetchToken(Self.request("not a key", options: options)) }
        }
    }

    @Test func anAnswerSignedByAnotherKeyIsRejected() async throws {
        try await Self.withAlipay { alipay, _, privateKey in
            let impostor = try _RSA.Signing.PrivateKey(keySize: .bits2048).publicKey.pemRepresentation
            await Self.expect(.malformedAnswer) {
                try await alipay.fetchToken(Self.request(privateKey, options: ["auth_code": "code-1", "alipay_public_key": impostor]))
            }
        }
    }

    @Test func busyQuotaGarbageAndHangComeBackAsOneKindEach() async throws {
        try await Self.withAlipay(timeout: .seconds(1)) { alipay, state, privateKey in
            let options = ["auth_code": "code-1"]
            let cases: [(SimulatorBehaviour, PlatformError.Kind)] = [
                (.busy, .busy), (.quotaExhausted, .rateLimited), (.garbage, .malformedAnswer), (.hang, .unreachable), (.http500, .unreachable),
            ]
            for (behaviour, kind) in cases {
                state.setBehaviour(behaviour, for: "2021000000000001")
                await Self.expect(kind) { try await alipay.fetchToken(Self.request(privateKey, options: options)) }
            }
        }
    }

    @Test func theSigningStringIsTheDocumentedCanonicalForm() {
        let fields = ["b": "2", "a": "1", "sign": "x", "empty": "", "biz_content": #"{"k":"v"}"#]
        #expect(Alipay.signingString(fields) == #"a=1&b=2&biz_content={"k":"v"}"#)
    }

    static func expect(_ kind: PlatformError.Kind, _ body: () async throws -> IssuedToken) async {
        do {
            _ = try await body()
            Issue.record("expected \(kind), got a token")
        } catch let error as PlatformError {
            #expect(error.kind == kind, "\(error)")
        } catch {
            Issue.record("expected PlatformError, got \(error)")
        }
    }
}
