import Synchronization
public import TokenLedger

/// A platform in memory for in-process ledger tests: issues numbered tokens, counts calls, and
/// can be told to refuse a secret, fail, or run a hook while a call is in flight.
public final class FakePlatform: Platform {
    private struct State {
        var calls = 0
        var callsByApp: [String: Int] = [:]
        var secret: String
        var expiresIn: Int
        var failure: PlatformError?
        var current: String?
        var duringCall: (@Sendable () async -> Void)?
    }

    private let state: Mutex<State>
    private let prefix: String

    /// A platform that accepts `secret` and issues tokens living `expiresIn` seconds.
    public init(secret: String = "S", expiresIn: Int = 7200, prefix: String = "T") {
        state = Mutex(State(secret: secret, expiresIn: expiresIn))
        self.prefix = prefix
    }

    /// Calls received, whatever their outcome.
    public var calls: Int { state.withLock { $0.calls } }

    /// Calls received for `appid`, whatever their outcome.
    public func calls(appid: String) -> Int { state.withLock { $0.callsByApp[appid, default: 0] } }

    /// The last token issued: the one the platform honours.
    public var current: String? { state.withLock { $0.current } }

    /// Accepts `secret` from now on (and refuses every other).
    public func setSecret(_ secret: String) { state.withLock { $0.secret = secret } }

    /// Issues tokens living `seconds` from now on.
    public func setExpiresIn(_ seconds: Int) { state.withLock { $0.expiresIn = seconds } }

    /// Fails every call with `failure` (nil: answers again).
    public func setFailure(_ failure: PlatformError?) { state.withLock { $0.failure = failure } }

    /// Runs `hook` inside the next calls, after the token is issued and before it is answered.
    public func setDuringCall(_ hook: (@Sendable () async -> Void)?) { state.withLock { $0.duringCall = hook } }

    /// Issues the next numbered token, or fails as told.
    public func fetchToken(_ request: TokenRequest) async throws -> IssuedToken {
        let outcome = state.withLock { state -> Result<(IssuedToken, (@Sendable () async -> Void)?), PlatformError> in
            state.calls += 1
            state.callsByApp[request.appid, default: 0] += 1
            if let failure = state.failure { return .failure(failure) }
            guard request.secret == state.secret else { return .failure(PlatformError(.credentialsRejected, platformCode: "40001")) }
            let token = "\(prefix)\(state.calls)"
            state.current = token
            return .success((IssuedToken(token: token, expiresIn: state.expiresIn), state.duringCall))
        }
        switch outcome {
        case .failure(let failure): throw failure
        case .success(let (issued, hook)):
            await hook?()
            return issued
        }
    }

    /// Every call yields a new token.
    public func renewalWindow(options: [String: String]) -> Double? { nil }
}
