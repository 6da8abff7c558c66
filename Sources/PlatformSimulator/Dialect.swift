import Foundation
import Hummingbird
import NIOCore

/// How one platform words its answers: success, its error codes, its busy and quota answers.
/// The behaviours (busy, garbage, hang, …) are applied the same way for every platform.
struct Dialect: Sendable {
    var success: @Sendable (_ token: String, _ expiresIn: Int) -> Response
    var unknownApp: @Sendable () -> Response
    var wrongSecret: @Sendable () -> Response
    var busy: @Sendable () -> Response
    var quota: @Sendable () -> Response

    /// Counts the call, applies the app's behaviour, then words `issue()`'s outcome.
    func answer(_ state: SimulatorState, appid: String, issue: () -> Issued) async throws -> Response {
        guard let behaviour = state.count(appid) else { return unknownApp() }
        return try await respond(behaviour, state: state, issue: issue)
    }

    /// Applies a behaviour to a call already counted.
    func respond(_ behaviour: SimulatorBehaviour, state: SimulatorState, issue: () -> Issued) async throws -> Response {
        switch behaviour {
        case .normal: break
        case .busy: return busy()
        case .garbage: return Response(status: .ok, headers: [.contentType: "text/html"], body: .init(byteBuffer: ByteBuffer(string: "<html>oops</html>")))
        case .quotaExhausted: return quota()
        case .http500: return Response(status: .internalServerError)
        case .slow(let milliseconds): try await Task.sleep(for: .milliseconds(milliseconds))
        case .slowAnswer(let milliseconds):
            let answer = word(issue())
            try await Task.sleep(for: .milliseconds(milliseconds))
            return answer
        case .hang:
            // Gives up once the simulator stops, so that a hanging answer never holds its shutdown.
            let deadline = ContinuousClock.now.advanced(by: .seconds(120))
            while !state.isStopping, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            return Response(status: .gatewayTimeout)
        }
        return word(issue())
    }

    func word(_ issued: Issued) -> Response {
        switch issued {
        case .token(let token, let expiresIn): success(token, expiresIn)
        case .unknownApp: unknownApp()
        case .wrongSecret: wrongSecret()
        }
    }

    static func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `{"errcode":N,"errmsg":"…"}` with HTTP 200, the WeChat family's error form.
    static func errcode(_ code: Int, _ message: String) -> Response {
        json(["errcode": code, "errmsg": message])
    }

    /// The request's JSON body as an object, or nil.
    static func object(_ request: Request) async throws -> [String: Any]? {
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        return try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
    }

    /// The request's form-encoded body as fields.
    static func form(_ request: Request) async throws -> [String: String] {
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        var components = URLComponents()
        components.percentEncodedQuery = String(decoding: body.readableBytesView, as: UTF8.self).replacingOccurrences(of: "+", with: "%20")
        var fields: [String: String] = [:]
        for item in components.queryItems ?? [] { fields[item.name] = item.value ?? "" }
        return fields
    }
}
