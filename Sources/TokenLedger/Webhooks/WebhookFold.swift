#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The log folded into what webhooks tell: which `token.issued` is a recovery, which failure
/// parks its app. Folded from the first event on every leader, so that a replica that takes
/// over derives exactly what the one before it did.
public struct WebhookFold: Sendable {
    /// What one stream's next event is judged against.
    struct Stream: Sendable {
        /// Failed refreshes since its last token.
        var failures = 0
        /// The failure code (and, for an exhausted quota, the platform day) that parked it, until
        /// a token or a new secret.
        var parkedBy: String?
    }

    private var streams: [StreamID: Stream] = [:]
    /// The position of the last event folded.
    public private(set) var position: Int64 = 0

    /// Nothing folded yet.
    public init() {}

    /// Folds the next event of the log; returns what a webhook would tell of it (nil: nothing).
    /// Events at or below `position` are ignored.
    public mutating func apply(_ event: RecordedEvent) -> WebhookEvent? {
        guard event.position > position else { return nil }
        position = event.position
        var stream = streams[event.stream] ?? Stream()
        defer { streams[event.stream] = stream }
        switch event.type {
        case .tokenIssued:
            guard let payload = try? event.decode(TokenIssued.self) else { return nil }
            var webhook = WebhookEvent(event, types: stream.failures > 0 ? [.tokenIssued, .tokenRecovered] : [.tokenIssued])
            webhook.reason = payload.reason.rawValue
            webhook.expiresAt = AuditEntry.isoDate(payload.expiresAt)
            if stream.failures > 0 { webhook.failures = stream.failures }
            stream = Stream()
            return webhook
        case .refreshFailed:
            // As `StreamState` counts them: a budget refusal made no call, a superseded fetch
            // means another token was issued; neither is a failure of the app.
            guard let payload = try? event.decode(RefreshFailed.self),
                payload.code != RefreshFailed.superseded, payload.code != LedgerError.Code.quotaBudgetExhausted.description
            else { return nil }
            stream.failures += 1
            var types: [WebhookEventType] = [.refreshFailed]
            if let parking = Self.parking(payload, event: event), parking != stream.parkedBy {
                stream.parkedBy = parking
                types.append(.appParked)
            }
            var webhook = WebhookEvent(event, types: types)
            webhook.reason = payload.reason.rawValue
            webhook.error = payload.code
            webhook.platformCode = payload.platformCode
            webhook.platformMessage = payload.platformMessage
            return webhook
        case .credentialsSet:
            // A new secret lifts the parking; the failures stay until a token closes them.
            stream.parkedBy = nil
            return nil
        case .credentialsRemoved:
            stream = Stream()
            return nil
        case .tokenRevoked:
            return nil
        }
    }

    /// What parks the app after `failure` (as `TokenReader` tells `parked`), or nil: rejected
    /// credentials, or the quota of the failure's platform day.
    static func parking(_ failure: RefreshFailed, event: RecordedEvent) -> String? {
        switch failure.code {
        case LedgerError.Code.upstreamRejectedCredentials.description:
            return failure.code
        case LedgerError.Code.upstreamQuotaExhausted.description:
            return "\(failure.code)@\(QuotaCalendar.day(of: event.recordedAt, platform: event.stream.platform))"
        default:
            return nil
        }
    }
}
