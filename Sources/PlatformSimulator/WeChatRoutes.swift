import Foundation
import Hummingbird
import NIOCore

/// WeChat's token endpoints, as documented: errors come as HTTP 200 `{"errcode","errmsg"}`.
struct WeChatRoutes: Sendable {
    let state: SimulatorState

    func register(on router: Router<BasicRequestContext>) {
        router.get("cgi-bin/token") { request, _ in
            let query = request.uri.queryParameters
            let appid = query.get("appid") ?? ""
            var fields: [String: String] = [:]
            for (name, value) in query { fields[String(name)] = String(value) }
            state.record(SimulatorRequest(endpoint: "GET /cgi-bin/token", appid: appid, fields: fields))
            return try await answer(appid) {
                guard query.get("grant_type") == "client_credential" else { return .error(40002, "invalid grant_type") }
                guard let secret = query.get("secret"), !secret.isEmpty else { return .error(41004, "appsecret missing") }
                return state.issue(appid, secret: secret, reuse: false)
            }
        }
        router.post("cgi-bin/stable_token") { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 64 * 1024)
            guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else {
                _ = state.count("")
                return Self.json(WeChatAnswer.error(47001, "data format error").json)
            }
            let appid = object["appid"] as? String ?? ""
            state.record(SimulatorRequest(endpoint: "POST /cgi-bin/stable_token", appid: appid, fields: object.mapValues { "\($0)" }))
            return try await answer(appid) {
                guard object["grant_type"] as? String == "client_credential" else { return .error(40002, "invalid grant_type") }
                guard let secret = object["secret"] as? String, !secret.isEmpty else { return .error(41004, "appsecret missing") }
                let force = object["force_refresh"] as? Bool ?? false
                return state.issue(appid, secret: secret, reuse: !force)
            }
        }
        router.get("cgi-bin/stable_token") { _, _ in
            _ = state.count("")
            return Self.json(WeChatAnswer.error(43002, "require POST method").json)
        }
        router.get("cgi-bin/getcallbackip") { request, _ in
            let token = request.uri.queryParameters.get("access_token") ?? ""
            if state.isValid(token: token) { return Self.json(#"{"ip_list":["127.0.0.1"]}"#) }
            return Self.json(WeChatAnswer.error(40001, "invalid credential, access_token is invalid or not latest").json)
        }
    }

    /// Counts the call, applies the app's behaviour, then answers with `issue`.
    private func answer(_ appid: String, issue: () -> WeChatAnswer) async throws -> Response {
        guard let behaviour = state.count(appid) else { return Self.json(WeChatAnswer.error(40013, "invalid appid").json) }
        switch behaviour {
        case .normal: break
        case .busy: return Self.json(WeChatAnswer.error(-1, "system error").json)
        case .garbage: return Response(status: .ok, headers: [.contentType: "text/html"], body: .init(byteBuffer: ByteBuffer(string: "<html>oops</html>")))
        case .quotaExhausted: return Self.json(WeChatAnswer.error(45009, "reach max api daily quota limit").json)
        case .http500: return Response(status: .internalServerError)
        case .slow(let milliseconds): try await Task.sleep(for: .milliseconds(milliseconds))
        case .hang:
            let deadline = ContinuousClock.now.advanced(by: .seconds(120))
            while !state.isStopping, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            return Response(status: .gatewayTimeout)
        }
        return Self.json(issue().json)
    }

    static func json(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
