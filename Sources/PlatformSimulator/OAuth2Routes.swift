import Foundation
import Hummingbird

/// An RFC 6749 §4.4 client-credentials server at `/oauth2/token`: the client authenticates by HTTP
/// Basic or in the form body; errors are HTTP 400/401 `{"error","error_description"}`.
/// Two misbehaving token servers beside it, for tests: `/oauth2/moved` answers 302 to
/// `/oauth2/token`, and `/oauth2/wordy` refuses with a 5 KB `error_description`.
struct OAuth2Routes: Sendable {
    let state: SimulatorState

    static func error(_ code: String, _ description: String, status: HTTPResponse.Status) -> Response {
        Dialect.json(["error": code, "error_description": description], status: status)
    }

    static let dialect = Dialect(
        success: { token, expiresIn in Dialect.json(["access_token": token, "token_type": "Bearer", "expires_in": expiresIn]) },
        unknownApp: { error("invalid_client", "unknown client", status: .unauthorized) },
        wrongSecret: { error("invalid_client", "bad client secret", status: .unauthorized) },
        busy: { error("temporarily_unavailable", "try later", status: .serviceUnavailable) },
        quota: { error("slow_down", "rate limited", status: .tooManyRequests) }
    )

    func register(on router: Router<BasicRequestContext>) {
        router.post("oauth2/moved") { request, _ in
            let fields = try await Dialect.form(request)
            state.record(SimulatorRequest(endpoint: "POST /oauth2/moved", appid: "", fields: fields))
            return Response(status: .found, headers: [.location: "/oauth2/token"])
        }
        router.post("oauth2/wordy") { request, _ in
            let fields = try await Dialect.form(request)
            state.record(SimulatorRequest(endpoint: "POST /oauth2/wordy", appid: "", fields: fields))
            return Self.error("invalid_request", String(repeating: "too many words ", count: 342), status: .badRequest)
        }
        router.post("oauth2/token") { request, _ in
            var fields = try await Dialect.form(request)
            if let authorization = request.headers[.authorization], authorization.hasPrefix("Basic "),
                let decoded = Data(base64Encoded: String(authorization.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) }),
                let colon = decoded.firstIndex(of: ":")
            {
                // RFC 6749 §2.3.1: client id and secret are form-encoded before Basic encoding.
                fields["client_id"] = String(decoded[..<colon]).removingPercentEncoding
                fields["client_secret"] = String(decoded[decoded.index(after: colon)...]).removingPercentEncoding
                fields["auth"] = "basic"
            }
            let client = fields["client_id"] ?? ""
            state.record(SimulatorRequest(endpoint: "POST /oauth2/token", appid: client, fields: fields))
            guard fields["grant_type"] == "client_credentials" else {
                return Self.error("unsupported_grant_type", "client_credentials only", status: .badRequest)
            }
            if fields["scope"] == "forbidden" { return Self.error("invalid_scope", "scope not allowed", status: .badRequest) }
            return try await Self.dialect.answer(state, appid: client) {
                state.issue(client, secret: fields["client_secret"] ?? "", reuseAbove: nil, previousGrace: nil)
            }
        }
    }
}
