#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// A token the platform gave, with the event that records it and what the stream looked like
/// before the call: enough to decide, if the refresh lock was lost before the event was
/// committed, whether it may still become current (no other token was issued since) or was
/// superseded.
struct FetchedToken: Sendable {
    /// The token, in the clear (never logged).
    let plain: String
    /// The events to append: the `token.issued` (sealed), after the `credentials.set` it was
    /// fetched with when new credentials were being tried.
    let events: [NewEvent]
    /// When the platform says it expires.
    let expiresAt: Date
    /// The stream's version when the call was made.
    let baseVersion: Int64
    /// The position of the token that was current when the call was made.
    let baseTokenPosition: Int64?
    /// Why it was fetched.
    let reason: RefreshReason
    /// The request that caused it.
    let requestID: String?

    init(_ issued: IssuedToken, elapsed: Duration, reason: RefreshReason, stream: StreamID, state: StreamState, refresher: Refresher, context: CallContext,
        preceding: [NewEvent] = []
    ) throws {
        let expiresAt = refresher.now().addingTimeInterval(Double(issued.expiresIn))
        let payload = TokenIssued(
            token: try refresher.sealer.seal(issued.token, for: stream, as: .token),
            expiresAt: expiresAt,
            reason: reason,
            upstreamLatencyMs: Int(Refresher.seconds(elapsed) * 1000),
            refreshToken: try issued.refreshToken.map { try refresher.sealer.seal($0, for: stream, as: .refreshToken) }
        )
        self.plain = issued.token
        self.events = preceding + [try NewEvent(payload, metadata: refresher.metadata(context))]
        self.expiresAt = expiresAt
        self.baseVersion = state.version
        self.baseTokenPosition = state.token?.position
        self.reason = reason
        self.requestID = context.requestID
    }

    /// This token as served once recorded at `event` (the last of `events`).
    func served(at event: RecordedEvent) -> ServedToken {
        ServedToken(token: plain, expiresAt: expiresAt, position: event.position)
    }

    /// Where a refresh keeps what it fetched, for the caller to settle if its lock was lost.
    final class Slot: Sendable {
        private let token = Mutex<FetchedToken?>(nil)

        var value: FetchedToken? {
            get { token.withLock { $0 } }
            set { token.withLock { $0 = newValue } }
        }
    }
}
