public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
public import TokenLedger

/// WeChat Official Accounts / Mini Programs: the stable token (default) or the classic one,
/// chosen per app by the option `mode` (`stable` | `classic`).
public struct WeChat: Platform {
    let baseURL: String
    let http: PlatformHTTP

    /// Creates the client; `baseURL` is `platforms.wechat.base_url`.
    public init(baseURL: String = "https://api.weixin.qq.com", httpClient: HTTPClient, timeout: Duration = .seconds(10)) {
        self.baseURL = PlatformHTTP.trimmed(baseURL)
        self.http = PlatformHTTP(client: httpClient, timeout: timeout)
    }

    public func fetchToken(_ request: TokenRequest) async throws -> IssuedToken {
        switch request.options["mode"] ?? "stable" {
        case "stable":
            let first = try await stable(request, force: false)
            // Forced refreshes are limited (20 a day, 30 s apart): force only when WeChat hands back
            // the very token the caller wants replaced; it may have rotated it already.
            if let replacing = request.replacing, first.token == replacing {
                return try await stable(request, force: true)
            }
            return first
        case "classic":
            return try await classic(request)
        case let other:
            throw PlatformError(.refused, platformMessage: "unknown wechat mode '\(other)'; use stable or classic")
        }
    }

    private func classic(_ request: TokenRequest) async throws -> IssuedToken {
        let query = PlatformHTTP.query(["grant_type": "client_credential", "appid": request.appid, "secret": request.secret])
        return try Self.parse(try await http.send(.GET, "\(baseURL)/cgi-bin/token?\(query)", json: nil))
    }

    private func stable(_ request: TokenRequest, force: Bool) async throws -> IssuedToken {
        let payload: [String: Any] = [
            "grant_type": "client_credential", "appid": request.appid, "secret": request.secret, "force_refresh": force,
        ]
        let body = try await http.send(.POST, "\(baseURL)/cgi-bin/stable_token", json: payload)
        return try Self.parse(body)
    }

    /// `{"access_token","expires_in"}` or `{"errcode","errmsg"}` (with HTTP 200).
    static func parse(_ body: Data) throws -> IssuedToken {
        let answer = try JSONAnswer(body)
        if let code = answer.int("errcode"), code != 0 {
            throw PlatformError(kind(ofErrorCode: code), platformCode: String(code), platformMessage: answer.string("errmsg"))
        }
        return try answer.token("access_token", life: "expires_in")
    }

    /// `parse`, for the tests of the answer format.
    public static func parseForTesting(_ text: String) throws -> IssuedToken {
        try parse(Data(text.utf8))
    }

    public func renewalWindow(options: [String: String]) -> Double? {
        // The stable token comes back unchanged until WeChat rotates it, about 5 minutes before expiry.
        (options["mode"] ?? "stable") == "stable" ? 300 : nil
    }

    /// WeChat's documented error codes, by what the caller and the scheduler should do about them.
    static func kind(ofErrorCode code: Int) -> PlatformError.Kind {
        switch code {
        case -1: .busy
        case 40001, 40013, 40125, 41004, 40243: .credentialsRejected
        case 45009: .quotaExhausted
        case 45011: .rateLimited
        default: .refused
        }
    }
}
