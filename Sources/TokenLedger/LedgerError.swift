/// The one error type that leaves the domain: a stable code the HTTP layer maps to a status, and
/// a message written for the caller.
///
/// Like `PSQLError`, `description` carries only the code; the message is in `message` and in
/// `debugDescription`. A message never contains a secret or a whole token.
public struct LedgerError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible, Equatable {
    /// A stable, machine-readable error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case invalidInput = "invalid_input"
            case unknownPlatform = "unknown_platform"
            case credentialsMissing = "credentials_missing"
            case appRemoved = "app_removed"
            case versionConflict = "version_conflict"
            case upstreamRejectedCredentials = "upstream_rejected_credentials"
            case upstreamQuotaExhausted = "upstream_quota_exhausted"
            case upstreamRateLimited = "upstream_rate_limited"
            case upstreamBusy = "upstream_busy"
            case upstreamUnreachable = "upstream_unreachable"
            case upstreamMalformedAnswer = "upstream_malformed_answer"
            case upstreamRefused = "upstream_refused"
            case storeUnavailable = "store_unavailable"
            case corruptEvent = "corrupt_event"
            case notFound = "not_found"
            case lockLost = "lock_lost"
            case forbidden = "forbidden"
            case unauthenticated = "unauthenticated"
            case notReady = "not_ready"
            case quotaBudgetExhausted = "quota_budget_exhausted"
            case tooManyWatchers = "too_many_watchers"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The input (path, query or body) is malformed.
        public static let invalidInput = Code(.invalidInput)
        /// The `:platform` segment names no platform this service knows.
        public static let unknownPlatform = Code(.unknownPlatform)
        /// The app has no secret registered and none was passed.
        public static let credentialsMissing = Code(.credentialsMissing)
        /// The app was retired (`credentials.removed`).
        public static let appRemoved = Code(.appRemoved)
        /// Another writer appended to the stream first.
        public static let versionConflict = Code(.versionConflict)
        /// The platform refused the app's credentials.
        public static let upstreamRejectedCredentials = Code(.upstreamRejectedCredentials)
        /// The platform's daily quota for the app is used up.
        public static let upstreamQuotaExhausted = Code(.upstreamQuotaExhausted)
        /// The platform asks us to call less often.
        public static let upstreamRateLimited = Code(.upstreamRateLimited)
        /// The platform says it is busy; retrying later may work.
        public static let upstreamBusy = Code(.upstreamBusy)
        /// The platform did not answer (connection refused, timeout).
        public static let upstreamUnreachable = Code(.upstreamUnreachable)
        /// The platform answered something that is not its documented format.
        public static let upstreamMalformedAnswer = Code(.upstreamMalformedAnswer)
        /// The platform refused for another reason (caller IP not allowed, bad grant, …).
        public static let upstreamRefused = Code(.upstreamRefused)
        /// The event log cannot be reached.
        public static let storeUnavailable = Code(.storeUnavailable)
        /// An event in the log cannot be decoded or decrypted.
        public static let corruptEvent = Code(.corruptEvent)
        /// Nothing is known of the requested resource.
        public static let notFound = Code(.notFound)
        /// A refresh lost its cross-replica lock (its backend died, a failover, a blip) before it
        /// could record its outcome: what it fetched was not made current.
        public static let lockLost = Code(.lockLost)
        /// The caller may not do this (e.g. change a secret without an admin key).
        public static let forbidden = Code(.forbidden)
        /// The caller presented no API key, or one that is not known.
        public static let unauthenticated = Code(.unauthenticated)
        /// This replica cannot answer yet (its memory read model is still catching up).
        public static let notReady = Code(.notReady)
        /// A forced refresh would exceed the app's daily budget of upstream calls or forced
        /// refreshes (`platforms.<name>.daily_budget`, `forced_daily_budget`): refused before the
        /// platform is asked, until the platform's day turns.
        public static let quotaBudgetExhausted = Code(.quotaBudgetExhausted)
        /// This replica already serves as many watchers as it may (`watch.max_watchers`).
        public static let tooManyWatchers = Code(.tooManyWatchers)

        /// The code's stable name, e.g. `upstream_rejected_credentials`.
        public var description: String { base.rawValue }
    }

    /// The stable code.
    public var code: Code
    /// Words a caller can act on.
    public var message: String

    /// Creates an error with a code and a caller-facing message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The code's stable name only: an error interpolated into a log line or a wrapping error
    /// carries no app id and no platform's words unless asked for (`debugDescription`).
    public var description: String { code.description }

    /// `code: message`, what an operator reads (`String(reflecting: error)`).
    public var debugDescription: String { "\(code): \(message)" }

    /// How an operator reads `error`: a `LedgerError` with its message, any other error as it
    /// describes itself (unlike `String(reflecting:)`, which would show other errors' debug details).
    public static func explain(_ error: any Error) -> String {
        (error as? LedgerError)?.debugDescription ?? "\(error)"
    }
}
