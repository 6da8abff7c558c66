#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// What can be told of a stream without its token (`GET /token/…/status`, the dashboard):
/// its state, its token's dates, its next renewal and today's budget.
public struct StreamStatus: Sendable, Equatable {
    /// A stream's state, most pressing first.
    public enum State: String, Sendable, CaseIterable {
        /// The app was retired.
        case removed
        /// Its events do not open with the configured keys.
        case unreadable
        /// The platform rejected its credentials, or its daily quota is used up: no refresh is
        /// tried until the secret changes or the platform's day turns.
        case parked
        /// Its last refresh failed; a still-valid token may be served as stale.
        case failing
        /// No token was issued yet (or the last one was revoked).
        case noToken = "no_token"
        /// Its token is served as it is.
        case fresh
        /// Its token is past its freshness margin but still valid: the next read renews it.
        case stale
        /// Its token expired.
        case expired
    }

    /// The stream.
    public var stream: StreamID
    /// Its state.
    public var state: State
    /// Its version in the log.
    public var version: Int64
    /// The position of its last event.
    public var position: Int64
    /// When its token was issued, if it has one.
    public var issuedAt: Date?
    /// When its token expires, as the platform said.
    public var expiresAt: Date?
    /// When its token stops being served as fresh.
    public var staleAt: Date?
    /// When the scheduler plans to renew it (nil: not planned, or no scheduler runs).
    public var nextRenewal: Date?
    /// Its last failed refresh since its last token, if any.
    public var lastFailure: LastFailure?
    /// Today's upstream calls and forced refreshes against its budget.
    public var budget: BudgetUsage

    /// Creates a status.
    public init(
        stream: StreamID, state: State, version: Int64, position: Int64, issuedAt: Date?, expiresAt: Date?, staleAt: Date?, nextRenewal: Date?,
        lastFailure: LastFailure?, budget: BudgetUsage
    ) {
        self.stream = stream
        self.state = state
        self.version = version
        self.position = position
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.staleAt = staleAt
        self.nextRenewal = nextRenewal
        self.lastFailure = lastFailure
        self.budget = budget
    }
}
