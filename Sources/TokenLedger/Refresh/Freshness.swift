#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The one place that decides whether a token may be handed out.
///
/// `fresh(now) = now < expiresAt - margin`, where the margin is `earlySeconds` (settable per
/// platform) but never more than `maxFraction` of the token's life. The margin exists because
/// platforms such as WeChat keep an old token alive only 5 minutes after a new one is fetched
/// (the original project's *premature_failure*); the cap keeps a platform that issues short
/// tokens (an OAuth2 server's 300 s) from being asked on every read.
public struct Freshness: Sendable, Equatable {
    /// Seconds before the platform's expiry at which a token stops being served as fresh.
    public var earlySeconds: Double
    /// `platforms.<name>.early_seconds`: the margin of one platform, where it differs.
    public var earlySecondsByPlatform: [String: Double]
    /// The largest share of a token's life the margin may take (`refresh.max_early_fraction`).
    public var maxFraction: Double

    /// Creates the policy; 300 s is WeChat's grace period.
    public init(earlySeconds: Double = 300, earlySecondsByPlatform: [String: Double] = [:], maxFraction: Double = 0.2) {
        self.earlySeconds = earlySeconds
        self.earlySecondsByPlatform = earlySecondsByPlatform
        self.maxFraction = maxFraction
    }

    /// The margin of a token of `platform` living `life` seconds (unknown: the full setting).
    public func margin(platform: String, life: TimeInterval?) -> Double {
        let early = earlySecondsByPlatform[platform] ?? earlySeconds
        guard let life, life > 0 else { return early }
        return min(early, life * maxFraction)
    }

    /// The margin of `token`, whose life runs from its recording to its expiry.
    public func margin(of token: CurrentToken, platform: String) -> Double {
        margin(platform: platform, life: token.expiresAt.timeIntervalSince(token.issuedAt))
    }

    /// Whether `token` of `platform` may still be served as fresh at `now`.
    public func isFresh(_ token: CurrentToken, platform: String, now: Date) -> Bool {
        now < staleAt(token, platform: platform)
    }

    /// Whether a token expiring at `expiresAt`, of unknown life, may be served as fresh at `now`
    /// (a row of a shared read model).
    public func isFresh(expiresAt: Date, platform: String, now: Date) -> Bool {
        now.timeIntervalSince1970 < expiresAt.timeIntervalSince1970 - margin(platform: platform, life: nil)
    }

    /// Whether the platform still accepts it (used only when no fresh token can be had).
    @inlinable
    public func isStillValid(expiresAt: Date, now: Date) -> Bool {
        now < expiresAt
    }

    /// When `token` stops being fresh.
    public func staleAt(_ token: CurrentToken, platform: String) -> Date {
        token.expiresAt.addingTimeInterval(-margin(of: token, platform: platform))
    }
}
