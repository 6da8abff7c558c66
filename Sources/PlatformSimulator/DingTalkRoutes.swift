import Hummingbird

/// DingTalk: the current `POST /v1.0/oauth2/accessToken` (errors as HTTP 4xx `{"code","message"}`)
/// and the old `GET /gettoken` (errcode form). Within its life the same token comes back.
struct DingTalkRoutes: Sendable {
    let state: SimulatorState

    static let current = Dialect(
        success: { token, expiresIn in Dialect.json(["accessToken": token, "expireIn": expiresIn]) },
        unknownApp: { Dialect.json(["code": "invalidClientId", "message": "appKey is invalid"], status: .badRequest) },
        wrongSecret: { Dialect.json(["code": "invalidClientSecret", "message": "appSecret is invalid"], status: .badRequest) },
        busy: { Dialect.json(["code": "ServiceUnavailable", "message": "system busy"], status: .serviceUnavailable) },
        quota: { Dialect.json(["code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", "message": "quota"], status: .forbidden) }
    )

    static let old = Dialect(
        success: { token, expiresIn in Dialect.json(["errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": expiresIn]) },
        unknownApp: { Dialect.errcode(40089, "invalid appkey or appsecret") },
        wrongSecret: { Dialect.errcode(40089, "invalid appkey or appsecret") },
        busy: { Dialect.errcode(-1, "system busy") },
        quota: { Dialect.errcode(90018, "api call limit reached") }
    )

    func register(on router: Router<BasicRequestContext>) {
        router.post("v1.0/oauth2/accessToken") { request, _ in
            let object = try await Dialect.object(request) ?? [:]
            let appKey = object["appKey"] as? String ?? ""
            state.record(SimulatorRequest(endpoint: "POST /v1.0/oauth2/accessToken", appid: appKey, fields: object.mapValues { "\($0)" }))
            return try await Self.current.answer(state, appid: appKey) {
                state.issue(appKey, secret: object["appSecret"] as? String ?? "", reuseAbove: 0, previousGrace: nil)
            }
        }
        router.get("gettoken") { request, _ in
            let query = request.uri.queryParameters
            let appKey = query.get("appkey") ?? ""
            state.record(SimulatorRequest(endpoint: "GET /gettoken", appid: appKey, fields: WeChatRoutes.fields(query)))
            return try await Self.old.answer(state, appid: appKey) {
                state.issue(appKey, secret: query.get("appsecret") ?? "", reuseAbove: 0, previousGrace: nil)
            }
        }
    }
}
