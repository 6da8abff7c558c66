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
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
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
        var components = URLComponents()
        components.queryItems = [
            URLQueryItem(name: "grant_type", value: "client_credential"),
            URLQueryItem(name: "appid", value: request.appid),
            URLQueryItem(name: "secret", value: request.secret),
        ]
        let query = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B") ?? ""
        let body = try await http.send(.GET, "\(baseURL)/cgi-bin/token?\(query)", json: nil)
        return try Self.parse(body)
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
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw PlatformError(.malformedAnswer, platformMessage: "the answer is not JSON")
        }
        if let code = (object["errcode"] as? NSNumber)?.intValue, code != 0 {
            let message = object["errmsg"] as? String
            throw PlatformError(kind(ofErrorCode: code), platformCode: String(code), platformMessage: message)
        }
        guard let token = object["access_token"] as? String, !token.isEmpty,
            let expiresIn = (object["expires_in"] as? NSNumber)?.intValue, expiresIn > 0
        else {
            throw PlatformError(.malformedAnswer, platformMessage: "the answer has no access_token and expires_in")
        }
        return IssuedToken(token: token, expiresIn: expiresIn)
    }

    /// `parse`, for the tests of the answer format.
    public static func parseForTesting(_ text: String) throws -> IssuedToken {
        try parse(Data(text.utf8))
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
