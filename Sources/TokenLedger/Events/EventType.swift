/// What happened to a stream. The raw values are what the log stores.
public enum EventType: String, Sendable, Codable, CaseIterable {
    /// A secret was registered or rotated.
    case credentialsSet = "credentials.set"
    /// The platform gave a token.
    case tokenIssued = "token.issued"
    /// The platform refused or did not answer.
    case refreshFailed = "token.refresh_failed"
    /// An operator invalidated the current token.
    case tokenRevoked = "token.revoked"
    /// The app was retired.
    case credentialsRemoved = "credentials.removed"

    /// Whether an event of this type decides the token a shared read model holds for its stream
    /// (a new token, or none): the last such event of a stream is its row (`ReadModelRow`).
    public var decidesServedToken: Bool {
        switch self {
        case .tokenIssued, .tokenRevoked, .credentialsRemoved: true
        case .credentialsSet, .refreshFailed: false
        }
    }
}

/// Why a token was (or was to be) fetched.
public enum RefreshReason: String, Sendable, Codable, CaseIterable {
    /// No token was known.
    case miss
    /// The known token is no longer fresh.
    case expired
    /// The scheduler renewed it ahead of expiry.
    case scheduled
    /// A caller asked for a new one (`PUT` without `nowToken`).
    case forced
    /// A caller reported the current token as bad (`PUT` with `nowToken`).
    case compare
    /// New credentials were tried with the platform before replacing working ones.
    case credentials
    /// Another service fetched it and it was carried over (`tokenledger import`): no platform call.
    case imported
}
