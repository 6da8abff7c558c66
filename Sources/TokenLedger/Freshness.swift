#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The one place that decides whether a token may be handed out.
///
/// `fresh(now) = now < expiresAt - earlySeconds`. The margin exists because platforms such as
/// WeChat keep an old token alive only 5 minutes after a new one is fetched (the original
/// project's *premature_failure*).
public struct Freshness: Sendable, Equatable {
    /// Seconds before the platform's expiry at which a token stops being served as fresh.
    public var earlySeconds: Double

    /// Creates the policy; 300 s is WeChat's grace period.
    public init(earlySeconds: Double = 300) {
        self.earlySeconds = earlySeconds
    }

    /// Whether a token expiring at `expiresAt` may still be served as fresh at `now`.
    @inlinable
    public func isFresh(expiresAt: Date, now: Date) -> Bool {
        now.timeIntervalSince1970 < expiresAt.timeIntervalSince1970 - earlySeconds
    }

    /// Whether the platform still accepts it (used only when no fresh token can be had).
    @inlinable
    public func isStillValid(expiresAt: Date, now: Date) -> Bool {
        now < expiresAt
    }

    /// When a token expiring at `expiresAt` stops being fresh.
    public func staleAt(expiresAt: Date) -> Date {
        expiresAt.addingTimeInterval(-earlySeconds)
    }
}
