/// What a webhook tells: two event types of the log, and two facts derived while folding it.
public enum WebhookEventType: String, Sendable, Codable, CaseIterable, Comparable {
    /// A token was issued (the token itself never leaves in a webhook).
    case tokenIssued = "token.issued"
    /// A refresh failed.
    case refreshFailed = "token.refresh_failed"
    /// The first token issued after failed refreshes of the stream, so that alerts can close.
    case tokenRecovered = "token.recovered"
    /// The platform rejected the app's credentials, or its daily quota is used up: no refresh is
    /// tried until the secret changes or the platform's day turns.
    case appParked = "app.parked"

    /// In the order of `allCases`.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
