import HTTPTypes

/// The API's own headers.
extension HTTPField.Name {
    /// The highest position a caller has seen (read your writes across replicas).
    static let minPosition = Self("X-Ledger-Min-Position")!
    /// The position of the served token's event.
    static let position = Self("X-Ledger-Position")!
    /// Set when a token past its freshness margin (but still valid) is served because the platform failed.
    static let stale = Self("X-Token-Stale")!
    /// When the platform says the token expires (seconds since 1970).
    static let expiresAt = Self("X-Token-Expires-At")!
    /// The caller's request id, recorded in the events the request causes.
    static let requestID = Self("X-Request-Id")!
    /// The `after` to pass for the next page of the events feed.
    static let nextAfter = Self("X-Ledger-Next-After")!
    /// The app's secret, as the original service also accepted it.
    static let appSecret = Self("X-App-Secret")!
}
