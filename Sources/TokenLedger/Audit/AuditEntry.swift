#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// An event as shown to an auditor: who, when, why, what — tokens masked, secrets hidden.
public struct AuditEntry: Sendable, Codable, Equatable {
    /// Global position.
    public var position: Int64
    /// `project/platform/appid`.
    public var stream: String
    /// Per-stream version.
    public var version: Int64
    /// Event type.
    public var type: String
    /// When it was recorded (ISO 8601).
    public var recordedAt: String
    /// The replica that appended it.
    public var node: String
    /// The request that caused it.
    public var requestID: String?
    /// Who asked.
    public var actor: String?
    /// Why (refresh reason or revocation reason).
    public var reason: String?
    /// The token, masked (`abcd…wxyz`), for `token.issued`.
    public var token: String?
    /// Expiry of the issued token (ISO 8601).
    public var expiresAt: String?
    /// Upstream latency of the issuing call, ms.
    public var upstreamLatencyMs: Int?
    /// Our error code, for failures.
    public var error: String?
    /// The platform's code, for failures.
    public var platformCode: String?
    /// The platform's message, for failures.
    public var platformMessage: String?
    /// Whether a secret was set (never the secret).
    public var secret: String?

    enum CodingKeys: String, CodingKey {
        case position, stream, version, type
        case recordedAt = "recorded_at"
        case node
        case requestID = "request_id"
        case actor, reason, token
        case expiresAt = "expires_at"
        case upstreamLatencyMs = "upstream_latency_ms"
        case error
        case platformCode = "platform_code"
        case platformMessage = "platform_message"
        case secret
    }

    /// Builds the masked view of `event`; a value that does not open shows as `<unreadable>`.
    public init(_ event: RecordedEvent, sealer: Sealer) {
        position = event.position
        stream = event.stream.description
        version = event.version
        type = event.type.rawValue
        recordedAt = Self.iso(event.recordedAt)
        node = event.metadata.node
        requestID = event.metadata.requestID
        actor = event.metadata.actor
        switch event.type {
        case .credentialsSet:
            secret = "********"
        case .tokenIssued:
            if let payload = try? event.decode(TokenIssued.self) {
                token = (try? sealer.open(payload.token, for: event.stream, as: .token)).map(Self.mask) ?? "<unreadable>"
                expiresAt = Self.iso(payload.expiresAt)
                reason = payload.reason.rawValue
                upstreamLatencyMs = payload.upstreamLatencyMs
            }
        case .refreshFailed:
            if let payload = try? event.decode(RefreshFailed.self) {
                error = payload.code
                platformCode = payload.platformCode
                platformMessage = payload.platformMessage
                reason = payload.reason.rawValue
            }
        case .tokenRevoked:
            reason = (try? event.decode(TokenRevoked.self))?.reason
        case .credentialsRemoved:
            break
        }
    }

    /// First and last four characters; short tokens are hidden whole.
    public static func mask(_ token: String) -> String {
        guard token.count >= 16 else { return "****" }
        return "\(token.prefix(4))…\(token.suffix(4))"
    }

    /// `date` as the audit views write it (ISO 8601, UTC, milliseconds).
    public static func isoDate(_ date: Date) -> String { iso(date) }

    static func iso(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
