public import AsyncHTTPClient
import Foundation
import NIOHTTP1
public import TokenLedger

/// WeCom (WeChat Work): one token per corpid and secret. Each of a company's apps has its own
/// secret, so the appid segment names the pair as `corpid:agentid` (or just `corpid`); only the
/// part before `:` is sent.
public struct WeCom: Platform {
    let baseURL: String
    let http: PlatformHTTP

    /// Creates the client; `baseURL` is `platforms.wecom.base_url`.
    public init(baseURL: String = "https://qyapi.weixin.qq.com", httpClient: HTTPClient, timeout: Duration = .seconds(10)) {
        self.baseURL = PlatformHTTP.trimmed(baseURL)
        self.http = PlatformHTTP(client: httpClient, timeout: timeout)
    }

    public func fetchToken(_ request: TokenRequest) async throws -> IssuedToken {
        let corpid = String(request.appid.split(separator: ":", maxSplits: 1).first ?? "")
        let query = PlatformHTTP.query(["corpid": corpid, "corpsecret": request.secret])
        let answer = try JSONAnswer(try await http.send(.GET, "\(baseURL)/cgi-bin/gettoken?\(query)", json: nil))
        if let code = answer.int("errcode"), code != 0 {
            throw PlatformError(Self.kind(ofErrorCode: code), platformCode: String(code), platformMessage: answer.string("errmsg"))
        }
        return try answer.token("access_token", life: "expires_in")
    }

    static func kind(ofErrorCode code: Int) -> PlatformError.Kind {
        switch code {
        case -1: .busy
        case 40001, 40013, 40091, 42001: .credentialsRejected
        case 45009, 45033: .rateLimited
        default: .refused
        }
    }
}
