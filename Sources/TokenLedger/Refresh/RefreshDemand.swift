#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a refresh must achieve, so that a waiter can tell whether someone else's refresh
/// already did it.
enum RefreshDemand: Sendable {
    /// Any fresh token.
    case fresh
    /// Any token but this one (compare-and-refresh: the caller found it bad).
    case replacing(String)
    /// A token issued after this position (a forced refresh asked when the log was there).
    case issuedAfter(Int64)
    /// A token that stays fresh until this date (the scheduler renews ahead of time).
    case freshUntil(Date)

    func isSatisfied(by token: CurrentToken?, of stream: StreamID, now: Date, freshness: Freshness) -> Bool {
        guard let token, freshness.isFresh(token, platform: stream.platform, now: now) else { return false }
        switch self {
        case .fresh: return true
        case .replacing(let bad): return token.value != bad
        case .issuedAfter(let position): return token.position > position
        case .freshUntil(let date): return freshness.isFresh(token, platform: stream.platform, now: date)
        }
    }

    /// Whether a caller that joined someone else's flight may still need one of its own.
    var mayNeedOwnFlight: Bool {
        switch self {
        case .replacing, .issuedAfter: true
        case .fresh, .freshUntil: false
        }
    }
}
