import Hummingbird

/// Feishu and Lark (one API, two roots): tenant and app access tokens. While the current token has
/// more than 30 minutes left the same one comes back; below that a new one, both valid to their end.
struct FeishuRoutes: Sendable {
    let state: SimulatorState

    static func dialect(field: String) -> Dialect {
        Dialect(
            success: { token, expiresIn in Dialect.json(["code": 0, "msg": "ok", field: token, "expire": expiresIn]) },
            unknownApp: { Dialect.json(["code": 10003, "msg": "invalid param"], status: .badRequest) },
            wrongSecret: { Dialect.json(["code": 10014, "msg": "app secret invalid"], status: .badRequest) },
            busy: { Dialect.json(["code": 1, "msg": "system busy"], status: .serviceUnavailable) },
            quota: { Dialect.json(["code": 99991400, "msg": "request trigger frequency limit"], status: .tooManyRequests) }
        )
    }

    func register(on router: Router<BasicRequestContext>) {
        for (kind, prefix) in [("tenant_access_token", "t-"), ("app_access_token", "a-")] {
            router.post("open-apis/auth/v3/\(kind)/internal") { request, _ in
                guard let object = try await Dialect.object(request) else {
                    _ = state.count("")
                    return Dialect.json(["code": 9499, "msg": "Bad Request"], status: .badRequest)
                }
                let appid = object["app_id"] as? String ?? ""
                state.record(SimulatorRequest(endpoint: "POST /open-apis/auth/v3/\(kind)/internal", appid: appid, fields: object.mapValues { "\($0)" }))
                return try await Self.dialect(field: kind).answer(state, appid: appid) {
                    state.issue(appid, secret: object["app_secret"] as? String ?? "", reuseAbove: 1800, previousGrace: nil, prefix: prefix)
                }
            }
        }
    }
}
