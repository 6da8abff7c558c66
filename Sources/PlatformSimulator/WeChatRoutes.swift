import Foundation
import Hummingbird
import NIOCore

/// WeChat's token endpoints, as documented: errors come as HTTP 200 `{"errcode","errmsg"}`.
struct WeChatRoutes: Sendable {
    let state: SimulatorState

    static let dialect = Dialect(
        success: { token, expiresIn in Dialect.json(["access_token": token, "expires_in": expiresIn]) },
        unknownApp: { Dialect.errcode(40013, "invalid appid") },
        wrongSecret: { Dialect.errcode(40001, "invalid credential, access_token is invalid or not latest") },
        busy: { Dialect.errcode(-1, "system error") },
        quota: { Dialect.errcode(45009, "reach max api daily quota limit") }
    )

    func register(on router: Router<BasicRequestContext>) {
        router.get("cgi-bin/token") { request, _ in
            let query = request.uri.queryParameters
            let appid = query.get("appid") ?? ""
            state.record(SimulatorRequest(endpoint: "GET /cgi-bin/token", appid: appid, fields: Self.fields(query)))
            guard query.get("grant_type") == "client_credential" else { return Dialect.errcode(40002, "invalid grant_type") }
            guard let secret = query.get("secret"), !secret.isEmpty else { return Dialect.errcode(41004, "appsecret missing") }
            return try await Self.dialect.answer(state, appid: appid) {
                state.issue(appid, secret: secret, reuseAbove: nil, previousGrace: 300)
            }
        }
        router.post("cgi-bin/stable_token") { request, _ in
            guard let object = try await Dialect.object(request) else {
                _ = state.count("")
                return Dialect.errcode(47001, "data format error")
            }
            let appid = object["appid"] as? String ?? ""
            state.record(SimulatorRequest(endpoint: "POST /cgi-bin/stable_token", appid: appid, fields: object.mapValues { "\($0)" }))
            guard object["grant_type"] as? String == "client_credential" else { return Dialect.errcode(40002, "invalid grant_type") }
            let force = object["force_refresh"] as? Bool ?? false
            return try await Self.dialect.answer(state, appid: appid) {
                state.issue(appid, secret: object["secret"] as? String ?? "", reuseAbove: force ? nil : 300, previousGrace: 300)
            }
        }
        router.get("cgi-bin/stable_token") { _, _ in
            _ = state.count("")
            return Dialect.errcode(43002, "require POST method")
        }
        router.get("cgi-bin/getcallbackip") { request, _ in
            let token = request.uri.queryParameters.get("access_token") ?? ""
            if state.isValid(token: token) { return Dialect.json(["ip_list": ["127.0.0.1"]]) }
            return Dialect.errcode(40001, "invalid credential, access_token is invalid or not latest")
        }
    }

    static func fields(_ query: Parameters) -> [String: String] {
        var fields: [String: String] = [:]
        for (name, value) in query { fields[String(name)] = String(value) }
        return fields
    }
}
