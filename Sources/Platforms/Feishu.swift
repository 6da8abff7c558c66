public import AsyncHTTPClient
import Foundation
import NIOHTTP1
public import TokenLedger

/// Feishu (`feishu`) and Lark (`lark`): the same API on two roots. Option `token`: `tenant`
/// (default, `tenant_access_token`) or `app` (`app_access_token`). While the current token has
/// more than 30 minutes left the platform hands it back unchanged.
public struct Feishu: Platform {
    let baseURL: String
    let http: PlatformHTTP

    /// Creates the client; `baseURL` is `platforms.feishu.base_url` or `platforms.lark.base_url`.
    public init(baseURL: String, httpClient: HTTPClient, timeout: Duration = .seconds(10)) {
        self.baseURL = PlatformHTTP.trimmed(baseURL)
        self.http = PlatformHTTP(client: httpClient, timeout: timeout)
    }

    public func fetchToken(_ request: TokenRequest) async throws -> IssuedToken {
        let field: String
        switch request.options["token"] ?? "tenant" {
        case "tenant": field = "tenant_access_token"
        case "app": field = "app_access_token"
        case let other: throw PlatformError(.refused, platformMessage: "unknown feishu token kind '\(other)'; use tenant or app")
        }
        // Feishu answers errors with HTTP 4xx and a JSON body: read it rather than fail on status.
        let body = try await http.send(.POST, "\(baseURL)/open-apis/auth/v3/\(field)/internal", json: ["app_id": request.appid, "app_secret": request.secret], acceptingClientErrors: true)
        let answer = try JSONAnswer(body)
        if let code = answer.int("code"), code != 0 {
            throw PlatformError(Self.kind(ofErrorCode: code), platformCode: String(code), platformMessage: answer.string("msg"))
        }
        return try answer.token(field, life: "expire")
    }

    public func renewalWindow(options: [String: String]) -> Double? { 1800 }

    static func kind(ofErrorCode code: Int) -> PlatformError.Kind {
        switch code {
        case 10003, 10014, 10012, 99991663, 99991664: .credentialsRejected
        case 99991400: .rateLimited
        case 99991401, 99991672: .refused
        default: code >= 99991000 && code < 99992000 ? .busy : .refused
        }
    }
}
