/// One configured webhook: where its events go, signed with what, and which of them.
public struct WebhookSubscription: Sendable, Equatable, CustomStringConvertible {
    /// Its id: the name of its checkpoint, its leadership role and its metrics' label.
    public var id: String
    /// Where deliveries are posted (from configuration only; judged like OAuth2 token URLs).
    public var url: String
    /// The HMAC key of `X-TokenLedger-Signature`.
    public var secret: String
    /// The event types delivered.
    public var events: Set<WebhookEventType>
    /// The projects whose events are delivered (empty: every project).
    public var projects: Set<String>

    /// Creates a subscription; by default every event type of every project.
    public init(id: String, url: String, secret: String, events: Set<WebhookEventType> = Set(WebhookEventType.allCases), projects: Set<String> = []) {
        self.id = id
        self.url = url
        self.secret = secret
        self.events = events
        self.projects = projects
    }

    /// Whether `event` is delivered to this subscription: its project is one of `projects`, and
    /// one of its types is one of `events` (a recovery is also an issue, a parking also a failure).
    public func wants(_ event: WebhookEvent) -> Bool {
        (projects.isEmpty || projects.contains(event.project)) && event.types.contains(where: events.contains)
    }

    /// The subscription with its secret masked.
    public var description: String {
        let kinds = events.sorted().map(\.rawValue).joined(separator: ",")
        let scope = projects.isEmpty ? "every project" : projects.sorted().joined(separator: ",")
        return "\(id) → \(url) (events \(kinds); \(scope); secret ********)"
    }
}
