public import AsyncHTTPClient
import Foundation
import NIOHTTP1
public import TokenLedger

/// Douyin / ByteDance mini programs: `POST /api/apps/v2/token` with `client_credential`.
public struct Douyin: Platform {
    let baseURL: String
    let http: PlatformHTTP

    /// Creates the client; `baseURL` is `platforms.douyin.base_url`.
    public init(baseURL: String = "https://developer.toutiao.com", httpClient: HTTPClient, timeout: Duration = .seconds(10)) {
        self.baseURL = PlatformHTTP.trimmed(baseURL)
        self.http = PlatformHTTP(client: httpClient, timeout: timeout)
    }

    public func fetchToken(_ request: TokenRequest) async throws -> IssuedToken {
        let body = try await http.send(.POST, "\(baseURL)/api/apps/v2/token", json: [
            "appid": request.appid, "secret": request.secret, "grant_type": "client_credential",
        ])
        let answer = try JSONAnswer(body)
        guard let code = answer.int("err_no") else {
            throw PlatformError(.malformedAnswer, platformMessage: "the answer has no err_no")
        }
        guard code == 0 else {
            let kind: PlatformError.Kind = code == -1 ? .busy : [40015, 40017, 40014].contains(code) ? .credentialsRejected : code == 40016 ? .rateLimited : .refused
            throw PlatformError(kind, platformCode: String(code), platformMessage: answer.string("err_tips"))
        }
        guard let data = answer.nested("data") else {
            throw PlatformError(.malformedAnswer, platformMessage: "the answer has no data")
        }
        return try data.token("access_token", life: "expires_in")
    }
}
