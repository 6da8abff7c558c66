import Foundation
public import TokenLedger

/// The webhooks: `webhooks` (the subscriptions) and `webhooks_*` (the bounds of delivery).
/// Their checkpoints live with the PostgreSQL log, so webhooks need it (a SQLite log with
/// webhooks is refused when the configuration is read).
public struct WebhookSettings: Sendable {
    /// `webhooks` (default none): `ID url=URL secret=SECRET [events=a+b] [projects=p+q]` entries;
    /// a secret written `$NAME` is read from that environment variable.
    public var subscriptions: [WebhookSubscription] = []
    /// `webhooks_max_attempts` (default 8): attempts of one delivery before the webhook is parked.
    public var maxAttempts = 8
    /// `webhooks_backoff_ms` (default 1000): the wait after the first failed attempt, doubled after each.
    public var backoff = Duration.milliseconds(1000)
    /// `webhooks_max_backoff_ms` (default 60000): the longest wait between attempts.
    public var maxBackoff = Duration.milliseconds(60000)
    /// `webhooks_timeout_ms` (default 10000): bound on one delivery's request.
    public var timeout = Duration.milliseconds(10000)

    /// The defaults: no webhook.
    public init() {}

    /// The projector's bounds, with the log's poll interval.
    func options(pollInterval: Duration) -> WebhookProjector.Options {
        WebhookProjector.Options(maxAttempts: maxAttempts, backoff: backoff, maxBackoff: maxBackoff, pollInterval: pollInterval)
    }
}
