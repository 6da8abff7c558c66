import Hummingbird

/// WeCom: `GET /cgi-bin/gettoken?corpid&corpsecret`; the same token while it is valid.
struct WeComRoutes: Sendable {
    let state: SimulatorState

    static let dialect = Dialect(
        success: { token, expiresIn in Dialect.json(["errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": expiresIn]) },
        unknownApp: { Dialect.errcode(40013, "invalid corpid") },
        wrongSecret: { Dialect.errcode(40001, "invalid secret") },
        busy: { Dialect.errcode(-1, "system busy") },
        quota: { Dialect.errcode(45009, "api freq out of limit") }
    )

    func register(on router: Router<BasicRequestContext>) {
        router.get("cgi-bin/gettoken") { request, _ in
            let query = request.uri.queryParameters
            let corpid = query.get("corpid") ?? ""
            state.record(SimulatorRequest(endpoint: "GET /cgi-bin/gettoken", appid: corpid, fields: WeChatRoutes.fields(query)))
            return try await Self.dialect.answer(state, appid: corpid) {
                state.issue(corpid, secret: query.get("corpsecret") ?? "", reuseAbove: 0, previousGrace: nil)
            }
        }
    }
}
