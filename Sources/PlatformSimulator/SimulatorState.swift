import Foundation
import Synchronization

/// The simulated platform's memory: apps, their tokens with real expiry, behaviours, call counts.
public final class SimulatorState: Sendable {
    struct App {
        var secret: String
        var expiresIn: Int
        var behaviour: SimulatorBehaviour = .normal
        var calls = 0
        var current: String?
    }

    struct Contents {
        var apps: [String: App] = [:]
        /// Every token ever issued and until when the platform accepts it.
        var validUntil: [String: Date] = [:]
        var totalCalls = 0
        var stopping = false
        var requests: [SimulatorRequest] = []
    }

    let contents = Mutex(Contents())

    /// An empty platform.
    public init() {}

    /// Registers an app (or changes its secret and token life).
    public func register(appid: String, secret: String, expiresIn: Int = 7200) {
        contents.withLock { contents in
            var app = contents.apps[appid] ?? App(secret: secret, expiresIn: expiresIn)
            app.secret = secret
            app.expiresIn = expiresIn
            contents.apps[appid] = app
        }
    }

    /// Sets how the app's token requests are answered.
    public func setBehaviour(_ behaviour: SimulatorBehaviour, for appid: String) {
        contents.withLock { $0.apps[appid]?.behaviour = behaviour }
    }

    /// Token requests received for `appid`, whatever their outcome.
    public func calls(appid: String) -> Int {
        contents.withLock { $0.apps[appid]?.calls ?? 0 }
    }

    /// Token requests received in all.
    public func totalCalls() -> Int {
        contents.withLock { $0.totalCalls }
    }

    /// Every token request received, oldest first: what a client sent, to check it against the contract.
    public func requests() -> [SimulatorRequest] {
        contents.withLock { $0.requests }
    }

    func record(_ request: SimulatorRequest) {
        contents.withLock { $0.requests.append(request) }
    }

    /// Forgets the call counts.
    public func resetCalls() {
        contents.withLock { contents in
            contents.totalCalls = 0
            contents.requests = []
            for appid in contents.apps.keys { contents.apps[appid]?.calls = 0 }
        }
    }

    /// Whether the platform accepts `token` now.
    public func isValid(token: String) -> Bool {
        contents.withLock { contents in contents.validUntil[token].map { $0 > Date() } ?? false }
    }

    var isStopping: Bool { contents.withLock { $0.stopping } }

    func stop() { contents.withLock { $0.stopping = true } }

    /// Counts a token request and returns the app's behaviour (`nil` for an unknown app).
    func count(_ appid: String) -> SimulatorBehaviour? {
        contents.withLock { contents in
            contents.totalCalls += 1
            guard contents.apps[appid] != nil else { return nil }
            contents.apps[appid]?.calls += 1
            return contents.apps[appid]?.behaviour
        }
    }

    /// Issues a token per WeChat's rules. `reuse`: return the current token while it has more than
    /// 300 s left (stable token); otherwise a new one, the previous staying valid 300 s more.
    func issue(_ appid: String, secret: String, reuse: Bool) -> WeChatAnswer {
        contents.withLock { contents in
            guard var app = contents.apps[appid] else { return .error(40013, "invalid appid") }
            guard app.secret == secret else { return .error(40001, "invalid credential, access_token is invalid or not latest") }
            let now = Date()
            if reuse, let current = app.current, let until = contents.validUntil[current], until.timeIntervalSince(now) > 300 {
                return .token(current, Int(until.timeIntervalSince(now)))
            }
            if let previous = app.current, let until = contents.validUntil[previous] {
                contents.validUntil[previous] = min(until, now.addingTimeInterval(300))
            }
            let token = Self.newToken()
            contents.validUntil[token] = now.addingTimeInterval(Double(app.expiresIn))
            app.current = token
            contents.apps[appid] = app
            return .token(token, app.expiresIn)
        }
    }

    static func newToken() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
        return String((0..<128).map { _ in alphabet[Int.random(in: 0..<alphabet.count)] })
    }
}

/// What the simulated WeChat answers.
enum WeChatAnswer: Equatable {
    case token(String, Int)
    case error(Int, String)

    var json: String {
        switch self {
        case .token(let token, let expiresIn): #"{"access_token":"\#(token)","expires_in":\#(expiresIn)}"#
        case .error(let code, let message): #"{"errcode":\#(code),"errmsg":"\#(message)"}"#
        }
    }
}

/// One token request as the simulator received it.
public struct SimulatorRequest: Sendable, Equatable {
    /// `GET /cgi-bin/token`, `POST /cgi-bin/stable_token`, …
    public var endpoint: String
    /// The app id sent.
    public var appid: String
    /// The fields sent (query or JSON body), secrets included: tests check the wire contract.
    public var fields: [String: String]
}
