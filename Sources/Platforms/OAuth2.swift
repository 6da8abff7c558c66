public import AsyncHTTPClient
import Foundation
import NIOHTTP1
public import TokenLedger

/// Any RFC 6749 §4.4 client-credentials server. Options per app: `token_url` (else
/// `platforms.oauth2.token_url`), `scope`, `audience`, `auth` (`basic`, the default, or `post`),
/// `default_expires_in` (when the server omits `expires_in`; 3600).
///
/// An app's `token_url` is chosen by whoever may set its options and is sent the app's secret, so
/// it must pass `urlPolicy` when it is set and again before every call; the operator's
/// `platforms.oauth2.token_url` is trusted. Redirects are never followed (the `httpClient` must
/// not follow them: `PlatformRegistry.httpClient`), and a 3xx answer is a refusal.
public struct OAuth2: Platform {
    let defaultTokenURL: String?
    let urlPolicy: TokenURLPolicy
    let http: PlatformHTTP

    /// Creates the client.
    public init(defaultTokenURL: String? = nil, urlPolicy: TokenURLPolicy = TokenURLPolicy(), httpClient: HTTPClient, timeout: Duration = .seconds(10)) {
        self.defaultTokenURL = defaultTokenURL
        self.urlPolicy = urlPolicy
        self.http = PlatformHTTP(client: httpClient, timeout: timeout)
    }

    public func checkOptions(_ options: [String: String]) async throws {
        if let tokenURL = options["token_url"] { try await urlPolicy.check(tokenURL) }
    }

    public func fetchToken(_ request: TokenRequest) async throws -> IssuedToken {
        guard let tokenURL = request.options["token_url"] ?? defaultTokenURL else {
            throw PlatformError(.refused, platformMessage: "no token_url: set it in the app's options or platforms.oauth2.token_url")
        }
        if request.options["token_url"] != nil {
            // Checked again: the policy or the host's addresses may have changed since the options were set.
            do {
                try await urlPolicy.check(tokenURL)
            } catch let refusal as LedgerError {
                throw PlatformError(.refused, platformCode: "token_url_refused", platformMessage: refusal.message)
            }
        }
        var fields = ["grant_type": "client_credentials"]
        if let scope = request.options["scope"] { fields["scope"] = scope }
        if let audience = request.options["audience"] { fields["audience"] = audience }
        var headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")]
        switch request.options["auth"] ?? "basic" {
        case "basic":
            // RFC 6749 §2.3.1: id and secret are form-encoded, then joined and base64-encoded.
            let pair = "\(PlatformHTTP.formEncoded(request.appid)):\(PlatformHTTP.formEncoded(request.secret))"
            headers.append(("Authorization", "Basic \(Data(pair.utf8).base64EncodedString())"))
        case "post":
            fields["client_id"] = request.appid
            fields["client_secret"] = request.secret
        case let other:
            throw PlatformError(.refused, platformMessage: "unknown oauth2 auth '\(other)'; use basic or post")
        }
        let (status, body) = try await http.exchange(.POST, tokenURL, form: PlatformHTTP.query(fields), headers: headers)
        let answer = try JSONAnswer(body)
        guard status < 400 else {
            let code = answer.string("error") ?? "http \(status)"
            throw PlatformError(Self.kind(ofStatus: status, error: code), platformCode: code, platformMessage: answer.string("error_description"))
        }
        return try answer.token("access_token", life: "expires_in", defaultLife: Int(request.options["default_expires_in"] ?? "") ?? 3600)
    }

    static func kind(ofStatus status: Int, error: String) -> PlatformError.Kind {
        switch error {
        case "invalid_client", "unauthorized_client": .credentialsRejected
        case "slow_down": .rateLimited
        case "temporarily_unavailable": .busy
        default: status == 429 ? .rateLimited : .refused
        }
    }
}
