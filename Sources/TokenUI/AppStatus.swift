import Foundation
import TokenLedger

/// What the dashboard says about one app, derived from its folded state alone.
struct AppStatus: Sendable {
    /// The states an app is shown in, in the order the counts are listed.
    enum State: String, Sendable, CaseIterable {
        case fresh, stale, failing, parked, none, removed

        /// The name shown.
        var label: String {
            switch self {
            case .fresh: "fresh"
            case .stale: "stale-served"
            case .failing: "failing"
            case .parked: "parked"
            case .none: "no token yet"
            case .removed: "removed"
            }
        }
    }

    let stream: StreamID
    let state: State
    /// The platform's own error (or ours) behind `failing` and `parked`.
    let error: String?
    let expiresAt: Date?
    let lastRefresh: LastRefresh?

    /// Classifies `state` at `now`: parked (the scheduler waits for a new secret or the next quota
    /// day), failing (the last refresh failed), no token, fresh or stale-served.
    init(_ stream: StreamID, _ state: StreamState, freshness: Freshness, now: Date) {
        self.stream = stream
        expiresAt = state.token?.expiresAt
        lastRefresh = state.lastRefresh
        let failure = state.lastFailure.flatMap { $0.position > state.credentialsPosition ? $0 : nil }
        error = failure.map(Self.describe) ?? (state.unreadable ? "an event of this app cannot be opened with the configured keys" : nil)
        if state.removed {
            self.state = .removed
        } else if let failure, Self.parks(failure.code) {
            self.state = .parked
        } else if failure != nil || state.unreadable {
            self.state = .failing
        } else if let token = state.token {
            self.state = freshness.isFresh(token, platform: stream.platform, now: now) ? .fresh : .stale
        } else {
            self.state = .none
        }
    }

    /// Whether the scheduler stops asking after a failure with `code` (see `RefreshPlan.decide`).
    static func parks(_ code: String) -> Bool {
        code == LedgerError.Code.upstreamRejectedCredentials.description || code == LedgerError.Code.upstreamQuotaExhausted.description
    }

    /// `upstream_busy: -1 system busy` — our code, then the platform's own.
    static func describe(_ failure: LastFailure) -> String {
        var text = failure.code
        if let code = failure.platformCode { text += ": \(code)" }
        if let message = failure.platformMessage { text += failure.platformCode == nil ? ": \(message)" : " \(message)" }
        return text
    }
}
