/// One third-party platform's token API.
public protocol Platform: Sendable {
    /// Asks the platform for a token. Throws `PlatformError` for every failure.
    func fetchToken(_ request: TokenRequest) async throws -> IssuedToken

    /// When the platform hands back the current token unchanged while it has more than this many
    /// seconds left (WeChat's stable token: 300, Feishu: 1800), the scheduler does not ask earlier
    /// than that; `nil` when every request yields a new token.
    func renewalWindow(options: [String: String]) -> Double?

    /// Checks an app's options before they are recorded: throws `LedgerError(.invalidInput)` for
    /// options the platform must not act on (a token URL it may not call), so that nothing is appended.
    func checkOptions(_ options: [String: String]) async throws
}

extension Platform {
    /// Every request yields a new token, unless a platform says otherwise.
    public func renewalWindow(options: [String: String]) -> Double? { nil }

    /// Options are free-form unless a platform says otherwise.
    public func checkOptions(_ options: [String: String]) async throws {}
}

/// What a platform client needs to fetch a token.
public struct TokenRequest: Sendable {
    /// The platform's app id.
    public var appid: String
    /// The app's secret, opened.
    public var secret: String
    /// Per-app options (e.g. WeChat's `mode`).
    public var options: [String: String]
    /// The token the caller wants replaced, if any: a platform that can return the same token
    /// again (WeChat's stable token) forces a new one only when it would hand this one back.
    public var replacing: String?
    /// Why the token is fetched.
    public var reason: RefreshReason
    /// The refresh token the platform gave with the current token (Alipay), if any.
    public var refreshToken: String?

    /// Creates a request.
    public init(
        appid: String,
        secret: String,
        options: [String: String] = [:],
        replacing: String? = nil,
        reason: RefreshReason,
        refreshToken: String? = nil
    ) {
        self.appid = appid
        self.secret = secret
        self.options = options
        self.replacing = replacing
        self.reason = reason
        self.refreshToken = refreshToken
    }
}

/// A token as a platform gave it.
public struct IssuedToken: Sendable, Equatable {
    /// The token.
    public var token: String
    /// Its remaining life in seconds, as the platform said.
    public var expiresIn: Int
    /// What the next refresh needs besides the secret (Alipay's new refresh token), recorded
    /// sealed with the token so that a replay rebuilds the full state.
    public var refreshToken: String?

    /// Creates an issued token.
    public init(token: String, expiresIn: Int, refreshToken: String? = nil) {
        self.token = token
        self.expiresIn = expiresIn
        self.refreshToken = refreshToken
    }
}

/// Why a platform gave no token: one taxonomy for every platform, with the platform's own words kept.
public struct PlatformError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure, which decides the caller's error and the retry policy.
    public enum Kind: String, Sendable {
        /// The app id or secret was refused: never retried until the secret changes.
        case credentialsRejected
        /// The daily quota is used up: not retried until the platform's day turns.
        case quotaExhausted
        /// Calls come too fast: retried after a pause.
        case rateLimited
        /// The platform says it is busy: retried with back-off.
        case busy
        /// No answer (refused connection, timeout, 5xx without a body).
        case unreachable
        /// An answer that is not the documented format.
        case malformedAnswer
        /// Any other refusal (caller IP not allowed, bad grant type, …).
        case refused
    }

    /// The kind.
    public var kind: Kind
    /// The platform's own code (e.g. WeChat's `errcode`), if it gave one.
    public var platformCode: String?
    /// The platform's own message, if it gave one.
    public var platformMessage: String?

    /// Creates an error.
    /// Creates an error. The platform's words are cut to `maxPlatformMessage` (and its code to
    /// `maxPlatformCode`) characters: they are echoed to callers and recorded in the log, and a
    /// platform (or whatever answers at an app's token URL) must not fill either.
    public init(_ kind: Kind, platformCode: String? = nil, platformMessage: String? = nil) {
        self.kind = kind
        self.platformCode = platformCode.map { Self.cut($0, to: Self.maxPlatformCode) }
        self.platformMessage = platformMessage.map { Self.cut($0, to: Self.maxPlatformMessage) }
    }

    /// Characters of a platform's message kept.
    public static let maxPlatformMessage = 200
    /// Characters of a platform's code kept.
    public static let maxPlatformCode = 64

    static func cut(_ text: String, to limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "…"
    }

    /// Our stable code for this kind.
    public var code: LedgerError.Code {
        switch kind {
        case .credentialsRejected: .upstreamRejectedCredentials
        case .quotaExhausted: .upstreamQuotaExhausted
        case .rateLimited: .upstreamRateLimited
        case .busy: .upstreamBusy
        case .unreachable: .upstreamUnreachable
        case .malformedAnswer: .upstreamMalformedAnswer
        case .refused: .upstreamRefused
        }
    }

    /// The kind and the platform's code; the platform's message may quote what we sent, so it is
    /// kept in the event, not in logs.
    public var description: String {
        "\(kind.rawValue)\(platformCode.map { " (platform code \($0))" } ?? "")"
    }
}
