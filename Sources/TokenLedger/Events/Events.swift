#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Who caused an event and where: kept with every event for audit.
public struct EventMetadata: Sendable, Codable, Equatable {
    /// The replica that appended the event.
    public var node: String
    /// The request that caused it, when a request did.
    public var requestID: String?
    /// The API key id (or `config`, `scheduler`) that asked.
    public var actor: String?

    /// Creates metadata.
    public init(node: String, requestID: String? = nil, actor: String? = nil) {
        self.node = node
        self.requestID = requestID
        self.actor = actor
    }

    enum CodingKeys: String, CodingKey {
        case node
        case requestID = "request_id"
        case actor
    }
}

/// An event about to be appended: it has no position or version yet.
public struct NewEvent: Sendable, Equatable {
    /// The event's type.
    public var type: EventType
    /// The JSON payload (secrets and tokens inside are already sealed).
    public var data: Data
    /// Who and where.
    public var metadata: EventMetadata

    /// Creates an event from a raw JSON payload.
    public init(type: EventType, data: Data, metadata: EventMetadata) {
        self.type = type
        self.data = data
        self.metadata = metadata
    }

    /// Creates an event from a typed payload.
    public init<Payload: EventPayload>(_ payload: Payload, metadata: EventMetadata) throws(LedgerError) {
        self.type = Payload.type
        self.data = try EventCoding.encode(payload)
        self.metadata = metadata
    }
}

/// An event as the log recorded it.
public struct RecordedEvent: Sendable, Equatable {
    /// Global, increasing position in the log (may have holes, never filled late).
    public var position: Int64
    /// The stream the event belongs to.
    public var stream: StreamID
    /// Per-stream version: 1, 2, 3 …
    public var version: Int64
    /// The event's type.
    public var type: EventType
    /// The JSON payload.
    public var data: Data
    /// Who and where.
    public var metadata: EventMetadata
    /// When the log recorded it.
    public var recordedAt: Date

    /// Creates a recorded event (adapters build these from rows).
    public init(position: Int64, stream: StreamID, version: Int64, type: EventType, data: Data, metadata: EventMetadata, recordedAt: Date) {
        self.position = position
        self.stream = stream
        self.version = version
        self.type = type
        self.data = data
        self.metadata = metadata
        self.recordedAt = recordedAt
    }

    /// Decodes the payload as `Payload`; the event's type must match.
    public func decode<Payload: EventPayload>(_: Payload.Type) throws(LedgerError) -> Payload {
        guard type == Payload.type else {
            throw LedgerError(.corruptEvent, "event \(position) is \(type.rawValue), not \(Payload.type.rawValue)")
        }
        return try EventCoding.decode(Payload.self, from: data, position: position)
    }
}

/// A typed event payload.
public protocol EventPayload: Codable, Sendable {
    /// The event type this payload belongs to.
    static var type: EventType { get }
}

/// `credentials.set`: the app's secret, sealed, and platform options (e.g. WeChat's `mode`).
public struct CredentialsSet: EventPayload, Equatable {
    /// `credentials.set`.
    public static let type = EventType.credentialsSet
    /// The sealed secret.
    public var secret: SealedValue
    /// Per-app platform options, e.g. `["mode": "classic"]`.
    public var options: [String: String]

    /// Creates the payload.
    public init(secret: SealedValue, options: [String: String] = [:]) {
        self.secret = secret
        self.options = options
    }
}

/// `token.issued`: what the platform gave.
public struct TokenIssued: EventPayload, Equatable {
    /// `token.issued`.
    public static let type = EventType.tokenIssued
    /// The sealed token.
    public var token: SealedValue
    /// When the platform says it stops working.
    public var expiresAt: Date
    /// Why it was fetched.
    public var reason: RefreshReason
    /// How long the platform took to answer, in milliseconds.
    public var upstreamLatencyMs: Int
    /// The sealed refresh token for the next refresh (Alipay), if the platform gave one.
    public var refreshToken: SealedValue?

    /// Creates the payload.
    public init(token: SealedValue, expiresAt: Date, reason: RefreshReason, upstreamLatencyMs: Int, refreshToken: SealedValue? = nil) {
        self.token = token
        self.expiresAt = expiresAt
        self.reason = reason
        self.upstreamLatencyMs = upstreamLatencyMs
        self.refreshToken = refreshToken
    }

    enum CodingKeys: String, CodingKey {
        case token
        case expiresAt = "expires_at"
        case reason
        case upstreamLatencyMs = "upstream_latency_ms"
        case refreshToken = "refresh_token"
    }
}

/// `token.refresh_failed`: the platform refused or did not answer.
public struct RefreshFailed: EventPayload, Equatable {
    /// `token.refresh_failed`.
    public static let type = EventType.refreshFailed
    /// Our stable error code, e.g. `upstream_busy`.
    public var code: String
    /// The platform's own code (WeChat's `errcode`), when it gave one.
    public var platformCode: String?
    /// The platform's own message, when it gave one.
    public var platformMessage: String?
    /// Why the refresh was attempted.
    public var reason: RefreshReason

    /// The code of a refresh that fetched a token but lost its lock before recording it, while
    /// another token was issued: the fetched one was not made current. Not a failure of the app.
    public static let superseded = "superseded"

    /// Creates the payload.
    public init(code: String, platformCode: String?, platformMessage: String?, reason: RefreshReason) {
        self.code = code
        self.platformCode = platformCode
        self.platformMessage = platformMessage
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case code
        case platformCode = "platform_code"
        case platformMessage = "platform_message"
        case reason
    }
}

/// `token.revoked`: an operator invalidated the current token.
public struct TokenRevoked: EventPayload, Equatable {
    /// `token.revoked`.
    public static let type = EventType.tokenRevoked
    /// Why.
    public var reason: String

    /// Creates the payload.
    public init(reason: String) { self.reason = reason }
}

/// `credentials.removed`: the app was retired.
public struct CredentialsRemoved: EventPayload, Equatable {
    /// `credentials.removed`.
    public static let type = EventType.credentialsRemoved

    /// Creates the payload.
    public init() {}
}

/// The one JSON coding of payloads: dates as milliseconds since 1970, keys sorted.
public enum EventCoding {
    /// Encodes a payload.
    public static func encode<T: Encodable>(_ value: T) throws(LedgerError) -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        do {
            return try encoder.encode(value)
        } catch {
            throw LedgerError(.invalidInput, "cannot encode \(T.self)")
        }
    }

    /// Decodes a payload: the flat payloads and metadata a replay reads for every event without
    /// `JSONDecoder` when they read plainly (`FlatJSONDecodable`), anything else with it.
    public static func decode<T: Decodable>(_: T.Type, from data: Data, position: Int64) throws(LedgerError) -> T {
        if let flat = T.self as? any FlatJSONDecodable.Type, let value = flat.init(flatJSON: data) as? T { return value }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        do {
            return try decoder.decode(T.self, from: data)
        } catch {
            throw LedgerError(.corruptEvent, "event \(position) has a payload that is not a valid \(T.self)")
        }
    }
}
