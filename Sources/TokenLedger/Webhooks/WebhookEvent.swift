#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The body of one delivery: one event of the log, with the facts derived from it, tokens never
/// included. Its `id` is the event's log position, so that a receiver drops what it already has.
public struct WebhookEvent: Sendable, Codable, Equatable {
    /// The event's log position, as a string: the delivery's id (`X-TokenLedger-Delivery`).
    public var id: String
    /// The event's log position.
    public var position: Int64
    /// The most specific of `types` (`token.recovered` over `token.issued`, `app.parked` over
    /// `token.refresh_failed`): `X-TokenLedger-Event`.
    public var type: WebhookEventType
    /// Every type the event is.
    public var types: [WebhookEventType]
    /// `project/platform/appid`.
    public var stream: String
    /// The stream's project.
    public var project: String
    /// The stream's platform.
    public var platform: String
    /// The stream's app id.
    public var appid: String
    /// The event's version in its stream.
    public var version: Int64
    /// When the log recorded it (ISO 8601).
    public var occurredAt: String
    /// The replica that recorded it.
    public var node: String
    /// Why the refresh was made.
    public var reason: String?
    /// When the issued token expires (ISO 8601); `token.issued`.
    public var expiresAt: String?
    /// Failed refreshes before this recovery; `token.recovered`.
    public var failures: Int?
    /// Our error code; `token.refresh_failed`.
    public var error: String?
    /// The platform's code, when it gave one; `token.refresh_failed`.
    public var platformCode: String?
    /// The platform's message, when it gave one; `token.refresh_failed`.
    public var platformMessage: String?

    enum CodingKeys: String, CodingKey {
        case id, position, type, types, stream, project, platform, appid, version
        case occurredAt = "occurred_at"
        case node, reason
        case expiresAt = "expires_at"
        case failures, error
        case platformCode = "platform_code"
        case platformMessage = "platform_message"
    }

    /// The event `event` is, with `types` (the first is the log's own type).
    init(_ event: RecordedEvent, types: [WebhookEventType]) {
        id = String(event.position)
        position = event.position
        self.types = types
        type = types.max() ?? .tokenIssued
        stream = event.stream.description
        project = event.stream.project
        platform = event.stream.platform
        appid = event.stream.appid
        version = event.version
        occurredAt = AuditEntry.isoDate(event.recordedAt)
        node = event.metadata.node
    }

    /// The body as posted (keys sorted): what the signature covers.
    public func body() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
