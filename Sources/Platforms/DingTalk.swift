public import AsyncHTTPClient
import Foundation
import NIOHTTP1
public import TokenLedger

/// DingTalk: the current `POST /v1.0/oauth2/accessToken` on `platforms.dingtalk.base_url`, or with
/// the option `api: old` the old `GET /gettoken` on `platforms.dingtalk.oapi_base_url`.
public struct DingTalk: Platform {
    let baseURL: String
    let oapiBaseURL: String
    let http: PlatformHTTP

    /// Creates the client.
    public init(
        baseURL: String = "https://api.dingtalk.com",
        oapiBaseURL: String = "https://oapi.dingtalk.com",
        httpClient: HTTPClient,
        timeout: Duration = .seconds(10)
    ) {
        self.baseURL = PlatformHTTP.trimmed(baseURL)
        self.oapiBaseURL = PlatformHTTP.trimmed(oapiBaseURL)
        self.http = PlatformHTTP(client: httpClient, timeout: timeout)
    }

    public func fetchToken(_ request: TokenRequest) async throws -> IssuedToken {
        switch request.options["api"] ?? "current" {
        case "current":
            let (status, body) = try await http.exchange(.POST, "\(baseURL)/v1.0/oauth2/accessToken", json: ["appKey": request.appid, "appSecret": request.secret])
            let answer = try JSONAnswer(body)
            guard status < 400 else {
                let code = answer.string("code") ?? "http \(status)"
                throw PlatformError(Self.kind(ofStatus: status, code: code), platformCode: code, platformMessage: answer.string("message"))
            }
            return try answer.token("accessToken", life: "expireIn")
        case "old":
            let query = PlatformHTTP.query(["appkey": request.appid, "appsecret": request.secret])
            let answer = try JSONAnswer(try await http.send(.GET, "\(oapiBaseURL)/gettoken?\(query)", json: nil))
            if let code = answer.int("errcode"), code != 0 {
                let kind: PlatformError.Kind = code == -1 ? .busy : [40089, 40001, 40014, 40096].contains(code) ? .credentialsRejected : code == 90018 ? .rateLimited : .refused
                throw PlatformError(kind, platformCode: String(code), platformMessage: answer.string("errmsg"))
            }
            return try answer.token("access_token", life: "expires_in")
        case let other:
            throw PlatformError(.refused, platformMessage: "unknown dingtalk api '\(other)'; use current or old")
        }
    }

    static func kind(ofStatus status: Int, code: String) -> PlatformError.Kind {
        let lowered = code.lowercased()
        if status == 429 || lowered.contains("qpslimit") || lowered.contains("throttl") { return .rateLimited }
        if status == 401 || lowered.contains("client") || lowered.contains("appkey") || lowered.contains("appsecret") { return .credentialsRejected }
        return .refused
    }
}
