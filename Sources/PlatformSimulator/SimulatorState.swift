import Foundation
import Synchronization
import _CryptoExtras

/// The simulated platform's memory: apps, their tokens with real expiry, behaviours, call counts.
public final class SimulatorState: Sendable {
    struct App {
        var secret: String
        var expiresIn: Int
        var tokenLength = 128
        var behaviour: SimulatorBehaviour = .normal
        /// Behaviours for the next calls, one each, before `behaviour` applies again.
        var next: [SimulatorBehaviour] = []
        /// How long a replaced token stays valid, if set: overrides the platform's own grace.
        var replacedGrace: Double?
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
    let alipay = Mutex(AlipayContents())
    /// The simulated Alipay's own signing key (its public half verifies the answers).
    let alipayKey: _RSA.Signing.PrivateKey

    /// An empty platform.
    public init() {
        // 2048 bits, as Alipay's keys; generated once per simulator.
        alipayKey = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    }

    /// Registers an app (or changes its secret and token life). `tokenLength` lets a test ask for
    /// tokens as long as Feishu's newer JWTs (several KB).
    public func register(appid: String, secret: String, expiresIn: Int = 7200, tokenLength: Int = 128) {
        contents.withLock { contents in
            var app = contents.apps[appid] ?? App(secret: secret, expiresIn: expiresIn)
            app.secret = secret
            app.expiresIn = expiresIn
            app.tokenLength = tokenLength
            contents.apps[appid] = app
        }
    }

    /// Sets how the app's token requests are answered.
    public func setBehaviour(_ behaviour: SimulatorBehaviour, for appid: String) {
        contents.withLock { $0.apps[appid]?.behaviour = behaviour }
    }

    /// Sets how the app's next calls are answered, one behaviour per call in order; after them,
    /// the app's behaviour applies again.
    public func setNextBehaviours(_ behaviours: [SimulatorBehaviour], for appid: String) {
        contents.withLock { $0.apps[appid]?.next = behaviours }
    }

    /// How long a replaced token of `appid` stays valid (0: invalid at once, as WeCom's and
    /// DingTalk's are in practice), overriding the platform's grace.
    public func setReplacedGrace(_ seconds: Double?, for appid: String) {
        contents.withLock { $0.apps[appid]?.replacedGrace = seconds }
    }

    /// The token the platform considers current for `appid` (the last one it issued).
    public func current(appid: String) -> String? {
        contents.withLock { $0.apps[appid]?.current }
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
            if let next = contents.apps[appid]?.next, !next.isEmpty {
                contents.apps[appid]?.next.removeFirst()
                return next[0]
            }
            return contents.apps[appid]?.behaviour
        }
    }

    /// Issues a token. `reuseAbove`: hand back the current token while it has more than this many
    /// seconds left (WeChat's stable token: 300, Feishu: 1800, WeCom and DingTalk: 0); `nil` always
    /// issues a new one. `previousGrace`: how long a replaced token stays valid (WeChat classic and
    /// Douyin: 300); `nil` leaves it valid until its own end.
    func issue(_ appid: String, secret: String, reuseAbove: Double?, previousGrace: Double?, prefix: String = "") -> Issued {
        contents.withLock { contents in
            guard var app = contents.apps[appid] else { return .unknownApp }
            guard app.secret == secret else { return .wrongSecret }
            let now = Date()
            if let reuseAbove, let current = app.current, let until = contents.validUntil[current], until.timeIntervalSince(now) > reuseAbove {
                return .token(current, Int(until.timeIntervalSince(now)))
            }
            if let grace = app.replacedGrace ?? previousGrace, let previous = app.current, let until = contents.validUntil[previous] {
                contents.validUntil[previous] = min(until, now.addingTimeInterval(grace))
            }
            let token = prefix + Self.newToken(length: app.tokenLength)
            contents.validUntil[token] = now.addingTimeInterval(Double(app.expiresIn))
            app.current = token
            contents.apps[appid] = app
            return .token(token, app.expiresIn)
        }
    }

    /// Checks an app's secret without issuing anything (Alipay's refresh flow).
    func secret(of appid: String) -> String? {
        contents.withLock { $0.apps[appid]?.secret }
    }

    static func newToken(length: Int = 128) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
        return String((0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count)] })
    }
}

/// The outcome of a token request, before a platform words it its own way.
enum Issued: Equatable {
    case token(String, Int)
    case unknownApp
    case wrongSecret
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
