import LedgerTestSupport
import Foundation
import PlatformSimulator
import Testing
import TokenLedger

/// An OAuth2 app's `token_url` is sent the app's secret, and whoever may set an app's options
/// chooses it: the service must not become a way to reach metadata services or internal hosts.
@Suite(.serialized)
struct TokenURLTests {
    static let privateOff = ["PLATFORMS_OAUTH2_ALLOW_PRIVATE_NETWORKS": "false"]

    /// The stream's events as the history route lists them.
    static func history(_ service: EmbeddedServer, _ path: String) async throws -> [[String: Any]] {
        let (status, body) = try await HTTP.request("GET", service.url(path + "/history"))
        #expect(status == 200, "\(body)")
        let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return object?["data"] as? [[String: Any]] ?? []
    }

    static func credentials(tokenURL: String) -> String {
        let body = try! JSONSerialization.data(withJSONObject: ["secret": "os", "options": ["token_url": tokenURL]])
        return String(decoding: body, as: UTF8.self)
    }

    @Test(.timeLimit(.minutes(1)))
    func tokenURLsOutsideHTTPOrAtMetadataAddressesAreRefusedAndNothingIsRecorded() async throws {
        try await withSimulator { simulator in
            // The test configuration allows private networks: link-local and metadata addresses stay refused.
            let service = try await EmbeddedServer.start(simulator: simulator)
            defer { service.server.stop() }
            let refused = [
                "file:///etc/passwd",
                "gopher://127.0.0.1:70/_POST",
                "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
                "http://[fd00:ec2::254]/latest/api/token",
                "http://[fe80::1]/token",
                "http://[::ffff:169.254.169.254]/",
                "http://100.100.100.200/latest/meta-data/",
                "http:///no-host",
            ]
            for (index, url) in refused.enumerated() {
                let path = "/token/demo/oauth2/ssrf-\(index)"
                let answer = try await HTTP.envelope("PUT", service.url(path + "/credentials"), body: Self.credentials(tokenURL: url))
                #expect(answer.status == 400, "\(url): \(answer.envelope.error)")
                #expect(answer.envelope.errorCode == "invalid_input", "\(url)")
                #expect(try await Self.history(service, path).isEmpty, "\(url): nothing recorded")
            }
            let (_, events) = try await HTTP.request("GET", service.url("/events"))
            #expect(events == #"{"code":200,"data":[],"error":""}"#, "nothing was appended")
            #expect(simulator.state.totalCalls() == 0)
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func loopbackTokenURLsAreRefusedUnlessPrivateNetworksAreAllowedAndCheckedAgainBeforeEachFetch() async throws {
        try await withSimulator { simulator in
            simulator.state.register(appid: "client-l", secret: "os")
            let tokenURL = simulator.baseURL + "/oauth2/token"
            let path = "/token/demo/oauth2/client-l"
            let folder = NSTemporaryDirectory() + "tokenledger-tokenurl-\(UInt32.random(in: 0...UInt32.max))"
            // Allowed (the test configuration): the app is registered against the loopback simulator.
            let allowing = try await EmbeddedServer.start(simulator: simulator, folder: folder)
            let set = try await HTTP.request("PUT", allowing.url(path + "/credentials"), body: Self.credentials(tokenURL: tokenURL))
            #expect(set.0 == 200, "\(set.1)")
            _ = allowing.server.stop()
            #expect(simulator.state.totalCalls() == 0)

            // Refused: with the setting off, the same URL is refused when set and before each fetch.
            let refusing = try await EmbeddedServer.start(simulator: simulator, folder: folder, extra: Self.privateOff)
            defer { refusing.server.stop() }
            let before = try await Self.history(refusing, path).count
            for url in [tokenURL, "http://127.0.0.1:1/oauth2/token", "http://2130706433/", "http://[::1]/", "http://10.0.0.1/", "http://0.0.0.0/"] {
                let answer = try await HTTP.envelope("PUT", refusing.url("/token/demo/oauth2/other/credentials"), body: Self.credentials(tokenURL: url))
                #expect(answer.status == 400, "\(url): \(answer.envelope.error)")
                #expect(answer.envelope.errorCode == "invalid_input", "\(url)")
            }
            #expect(try await Self.history(refusing, "/token/demo/oauth2/other").isEmpty)
            // A new secret passed on the query string would re-record the refused options.
            let rotated = try await HTTP.envelope("GET", refusing.url(path + "?secret=os2"))
            #expect(rotated.status == 400, "\(rotated.envelope.error)")
            #expect(rotated.envelope.errorCode == "invalid_input")
            let put = try await HTTP.envelope("PUT", refusing.url(path + "?secret=os2"))
            #expect(put.status == 400, "\(put.envelope.error)")
            #expect(try await Self.history(refusing, path).count == before, "no credentials.set recorded")
            // The options recorded earlier are checked again before the fetch: the token server is never called.
            let fetched = try await HTTP.envelope("GET", refusing.url(path))
            #expect(fetched.status == 502, "\(fetched.envelope.error)")
            #expect(fetched.envelope.errorCode == "upstream_refused")
            #expect(simulator.state.requests().isEmpty, "the refused token URL was never called")
        }
    }

    /// An `oauth2` app whose token URL is `tokenPath` on the simulator: its first GET's answer,
    /// the simulator's endpoints called, and the platform message its last failure recorded.
    static func firstFetch(
        tokenPath: String
    ) async throws -> (status: Int, envelope: HTTP.Envelope, endpoints: [String], recordedMessage: String?) {
        try await withSimulator { simulator in
            let service = try await EmbeddedServer.start(simulator: simulator)
            defer { service.server.stop() }
            let path = "/token/demo/oauth2/client-f"
            let set = try await HTTP.request("PUT", service.url(path + "/credentials"), body: Self.credentials(tokenURL: simulator.baseURL + tokenPath))
            #expect(set.0 == 200, "\(set.1)")
            let answer = try await HTTP.envelope("GET", service.url(path))
            let failed = try await Self.history(service, path).last { $0["type"] as? String == "token.refresh_failed" }
            #expect(failed != nil, "the failure is recorded")
            return (answer.status, answer.envelope, simulator.state.requests().map(\.endpoint), failed?["platform_message"] as? String)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aRedirectFromTheTokenServerIsNotFollowed() async throws {
        let answer = try await Self.firstFetch(tokenPath: "/oauth2/moved")
        #expect(answer.status == 502, "\(answer.envelope.error)")
        #expect(answer.envelope.errorCode == "upstream_refused")
        #expect(answer.endpoints.contains("POST /oauth2/moved"))
        #expect(!answer.endpoints.contains("POST /oauth2/token"), "the redirect target received no request")
    }

    @Test(.timeLimit(.minutes(1)))
    func aLongPlatformMessageIsCutInTheErrorAndTheEvent() async throws {
        let answer = try await Self.firstFetch(tokenPath: "/oauth2/wordy")
        #expect(answer.status == 502, "\(answer.envelope.error)")
        #expect(answer.envelope.error.contains("too many words"), "the platform's words are quoted")
        #expect(answer.envelope.error.count < 400, "but not 5 KB of them: \(answer.envelope.error.count) characters")
        let message = answer.recordedMessage
        #expect(message?.hasPrefix("too many words") == true, "\(String(describing: message))")
        #expect((message?.count ?? .max) <= PlatformError.maxPlatformMessage + 1, "the event keeps 200 characters and an ellipsis")
    }
}
