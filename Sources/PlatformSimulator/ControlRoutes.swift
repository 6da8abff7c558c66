import Foundation
import Hummingbird
import NIOCore

/// `/_sim/…`: lets another process (a benchmark, a replica test) set the simulator up.
struct ControlRoutes: Sendable {
    let state: SimulatorState

    func register(on router: Router<BasicRequestContext>) {
        router.post("_sim/apps") { request, _ in
            let object = try await Self.object(request)
            guard let appid = object["appid"] as? String, let secret = object["secret"] as? String else {
                throw HTTPError(.badRequest, message: "appid and secret are required")
            }
            state.register(appid: appid, secret: secret, expiresIn: object["expires_in"] as? Int ?? 7200)
            return Dialect.json(["ok": true])
        }
        router.put("_sim/apps/:appid/behaviour") { request, context in
            let appid = context.parameters.get("appid") ?? ""
            let object = try await Self.object(request)
            let behaviour: SimulatorBehaviour
            switch object["mode"] as? String {
            case "normal": behaviour = .normal
            case "busy": behaviour = .busy
            case "garbage": behaviour = .garbage
            case "hang": behaviour = .hang
            case "quota": behaviour = .quotaExhausted
            case "http500": behaviour = .http500
            case "slow": behaviour = .slow(milliseconds: object["delay_ms"] as? Int ?? 1000)
            case "slow_answer": behaviour = .slowAnswer(milliseconds: object["delay_ms"] as? Int ?? 1000)
            default: throw HTTPError(.badRequest, message: "mode is normal, busy, garbage, hang, quota, slow, slow_answer or http500")
            }
            state.setBehaviour(behaviour, for: appid)
            return Dialect.json(["ok": true])
        }
        router.get("_sim/apps/:appid/calls") { _, context in
            Dialect.json(["calls": state.calls(appid: context.parameters.get("appid") ?? "")])
        }
    }

    static func object(_ request: Request) async throws -> [String: Any] {
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else {
            throw HTTPError(.badRequest, message: "the body must be a JSON object")
        }
        return object
    }
}
