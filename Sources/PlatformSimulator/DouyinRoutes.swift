import Hummingbird

/// Douyin / ByteDance mini programs: `POST /api/apps/v2/token`; asking again shortens the previous
/// token's life to 5 minutes, as WeChat's classic call does.
struct DouyinRoutes: Sendable {
    let state: SimulatorState

    static func error(_ code: Int, _ tips: String) -> Response {
        Dialect.json(["err_no": code, "err_tips": tips, "data": [String: Any]()])
    }

    static let dialect = Dialect(
        success: { token, expiresIn in
            Dialect.json(["err_no": 0, "err_tips": "success", "data": ["access_token": token, "expires_in": expiresIn]])
        },
        unknownApp: { error(40015, "bad appid") },
        wrongSecret: { error(40017, "bad secret") },
        busy: { error(-1, "system error") },
        quota: { error(40016, "frequency limit") }
    )

    func register(on router: Router<BasicRequestContext>) {
        router.post("api/apps/v2/token") { request, _ in
            let object = try await Dialect.object(request) ?? [:]
            let appid = object["appid"] as? String ?? ""
            state.record(SimulatorRequest(endpoint: "POST /api/apps/v2/token", appid: appid, fields: object.mapValues { "\($0)" }))
            guard object["grant_type"] as? String == "client_credential" else { return Self.error(40020, "bad grant_type") }
            return try await Self.dialect.answer(state, appid: appid) {
                state.issue(appid, secret: object["secret"] as? String ?? "", reuseAbove: nil, previousGrace: 300)
            }
        }
    }
}
