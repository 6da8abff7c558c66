#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// When the scheduler should next refresh a stream, derived from its folded state alone, so that
/// every replica (and a restarted one) computes the same plan from the log.
public struct RefreshPlan: Sendable, Equatable {
    /// Tunables of the plan.
    public struct Policy: Sendable, Equatable {
        /// How long before a token stops being fresh it is renewed (at least one scheduler tick).
        public var lead: Double
        /// The largest random spread added before `lead`, so that apps registered together do
        /// not all refresh in the same second.
        public var jitter: Double
        /// First back-off after a failure; doubles per consecutive failure.
        public var baseBackoff: Double
        /// Cap on the back-off (`refresh.max_backoff_seconds`).
        public var maxBackoff: Double

        /// Creates a policy.
        public init(lead: Double, jitter: Double = 10, baseBackoff: Double = 5, maxBackoff: Double = 300) {
            self.lead = lead
            self.jitter = jitter
            self.baseBackoff = baseBackoff
            self.maxBackoff = maxBackoff
        }
    }

    /// Why nothing is planned, or when the next refresh is due.
    public enum Decision: Sendable, Equatable {
        /// Refresh at this date.
        case due(Date)
        /// No secret, or the app was removed.
        case idle
        /// The platform rejected the credentials: nothing until the secret changes.
        case parkedUntilNewSecret
    }

    /// Plans `state` under `policy`; `quotaDayEnd` gives the end of the platform's quota day.
    public static func decide(
        _ state: StreamState,
        stream: StreamID,
        freshness: Freshness,
        policy: Policy,
        renewalWindow: Double? = nil,
        quotaDayEnd: (Date) -> Date = RefreshPlan.chinaMidnight(after:)
    ) -> Decision {
        guard state.secret != nil, !state.removed, !state.unreadable else { return .idle }
        if let failure = state.lastFailure, failure.position > state.credentialsPosition {
            switch failure.code {
            case LedgerError.Code.upstreamRejectedCredentials.description:
                return .parkedUntilNewSecret
            case LedgerError.Code.upstreamQuotaExhausted.description:
                return .due(quotaDayEnd(failure.at))
            default:
                let exponent = min(max(state.consecutiveFailures - 1, 0), 20)
                let backoff = min(policy.baseBackoff * Double(1 << exponent), policy.maxBackoff)
                return .due(failure.at.addingTimeInterval(backoff * (1 + 0.2 * unit(stream, salt: failure.position))))
            }
        }
        guard let token = state.token else { return .due(.distantPast) }
        // Lead and jitter scale with the token's life as the margin does, so that a short-lived
        // token is renewed about once per life, not on every tick.
        let life = token.expiresAt.timeIntervalSince(token.issuedAt)
        let cap = life > 0 ? life * freshness.maxFraction : .infinity
        let spread = min(policy.jitter, cap) * unit(stream, salt: token.position)
        let planned = freshness.staleAt(token, platform: stream.platform).addingTimeInterval(-min(policy.lead, cap) - spread)
        // Asking before the platform would issue a new token only gets the same one back.
        if let renewalWindow {
            return .due(max(planned, token.expiresAt.addingTimeInterval(-renewalWindow)))
        }
        return .due(planned)
    }

    /// A stable number in [0, 1) for a stream and a salt: the same on every replica.
    static func unit(_ stream: StreamID, salt: Int64) -> Double {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in stream.description.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        hash = (hash ^ UInt64(bitPattern: salt)) &* 0x100_0000_01b3
        return Double(hash % 1_000_000) / 1_000_000
    }

    /// Midnight in China (UTC+8, no daylight saving): when WeChat's and most Chinese platforms'
    /// daily quotas turn.
    public static func chinaMidnight(after date: Date) -> Date {
        let offset = 8.0 * 3600
        let local = date.timeIntervalSince1970 + offset
        let nextMidnight = ((local / 86400).rounded(.down) + 1) * 86400
        return Date(timeIntervalSince1970: nextMidnight - offset)
    }
}
