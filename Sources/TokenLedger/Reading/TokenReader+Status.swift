#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension TokenReader {
    /// The status of `stream` from the memory model: no token in it, nothing asked of the log or
    /// the platform. `notFound` when nothing is known of the stream.
    public func status(of stream: StreamID) throws -> StreamStatus {
        try refresher.platform(of: stream)
        guard let state = projector.model.state(of: stream) else {
            throw LedgerError(.notFound, "nothing is known of \(stream)")
        }
        return status(of: stream, state: state)
    }

    /// The status of `stream` folded as `state` (a page listing many streams reads them all at
    /// once with `MemoryReadModel.allStates()`).
    public func status(of stream: StreamID, state: StreamState) -> StreamStatus {
        let now = self.now()
        return StreamStatus(
            stream: stream,
            state: Self.state(of: state, stream: stream, freshness: freshness, now: now),
            version: state.version,
            position: state.position,
            issuedAt: state.token?.issuedAt,
            expiresAt: state.token?.expiresAt,
            staleAt: state.token.map { freshness.staleAt($0, platform: stream.platform) },
            nextRenewal: nextRenewal(of: stream, state: state, now: now),
            lastFailure: state.lastFailure,
            budget: refresher.budgetUsage(of: stream, state: state)
        )
    }

    /// The state `state` of `stream` is in at `now`.
    static func state(of state: StreamState, stream: StreamID, freshness: Freshness, now: Date) -> StreamStatus.State {
        if state.removed { return .removed }
        if state.unreadable { return .unreadable }
        if let failure = state.lastFailure, failure.position > state.credentialsPosition {
            let parks =
                failure.code == LedgerError.Code.upstreamRejectedCredentials.description
                || (failure.code == LedgerError.Code.upstreamQuotaExhausted.description
                    && QuotaCalendar.day(of: failure.at, platform: stream.platform) == QuotaCalendar.day(of: now, platform: stream.platform))
            return parks ? .parked : .failing
        }
        guard let token = state.token else { return .noToken }
        if freshness.isFresh(token, platform: stream.platform, now: now) { return .fresh }
        return freshness.isStillValid(expiresAt: token.expiresAt, now: now) ? .stale : .expired
    }

    /// When the scheduler plans to renew `stream`, by the plan every replica computes alike.
    func nextRenewal(of stream: StreamID, state: StreamState, now: Date) -> Date? {
        guard let policy = renewalPolicy else { return nil }
        let window = refresher.renewalWindow(of: stream, options: state.options)
        switch RefreshPlan.decide(state, stream: stream, freshness: freshness, policy: policy, renewalWindow: window) {
        case .due(let date): return max(date, now)
        case .idle, .parkedUntilNewSecret: return nil
        }
    }
}
