#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A stream folded from its events: what every read model holds, and what `verify` compares.
public struct StreamState: Sendable, Equatable {
    /// The last version applied (0: nothing yet).
    public var version: Int64 = 0
    /// The global position of the last event applied.
    public var position: Int64 = 0
    /// The app's secret, opened; only the in-process memory model holds it.
    public var secret: String?
    /// Platform options registered with the secret.
    public var options: [String: String] = [:]
    /// The current token, if any.
    public var token: CurrentToken?
    /// The refresh token the platform gave last (Alipay), opened.
    public var refreshToken: String?
    /// The last failed refresh since the last token, if any.
    public var lastFailure: LastFailure?
    /// The refresh that issued the current token (or the last one, after a revocation).
    public var lastRefresh: LastRefresh?
    /// Whether the app was retired.
    public var removed = false
    /// Set when an event of this stream could not be opened (unknown key, tampering), until a
    /// later `credentials.set` that opens re-establishes the stream (key rotation's reseal).
    public var unreadable = false
    /// The key id that seals the current secret (a rotation reseals the others).
    public var credentialsKeyID: String?
    /// Whether the current secret is sealed bound to its field (`v2`); a reseal rewrites older ones.
    public var credentialsFieldBound = false
    /// The position of the last `credentials.set`: a secret changed after a rejection lifts it.
    public var credentialsPosition: Int64 = 0
    /// Failed refreshes since the last token or secret (drives the scheduler's back-off).
    public var consecutiveFailures = 0
    /// Upstream calls and forced refreshes on the platform day of the last one (`DailyCalls`).
    public var calls = DailyCalls()

    /// An empty stream.
    public init() {}

    /// Applies the next event of this stream. Events at or below `position` are ignored, so
    /// applying twice is harmless. A change to what this folds must raise `MemorySnapshot.format`:
    /// snapshots folded by older code are then replayed from the log instead of restored.
    public mutating func apply(_ event: RecordedEvent, sealer: Sealer) {
        guard event.position > position else { return }
        version = event.version
        position = event.position
        do {
            switch event.type {
            case .credentialsSet:
                let payload = try event.decode(CredentialsSet.self)
                do {
                    secret = try sealer.open(payload.secret, for: event.stream, as: .secret)
                } catch {
                    secret = nil
                    throw error
                }
                options = payload.options
                credentialsKeyID = payload.secret.keyID
                credentialsFieldBound = payload.secret.isFieldBound
                removed = false
                // Credentials that open re-establish a stream whose older events do not: a token
                // that could not be read stays unknown (nil) and is fetched anew.
                unreadable = false
                // A re-authorisation given with the credentials replaces the refresh token in hand.
                if payload.options["refresh_token"] != nil || payload.options["auth_code"] != nil { refreshToken = nil }
                credentialsPosition = event.position
                consecutiveFailures = 0
            case .tokenIssued:
                let payload: TokenIssued
                let value: String
                do {
                    payload = try event.decode(TokenIssued.self)
                    // The call was made whether or not its token opens with the keys at hand; an
                    // imported token was fetched by another service, not by a call of ours.
                    if payload.reason != .imported {
                        calls.count(at: event.recordedAt, platform: event.stream.platform, forced: payload.reason == .forced)
                    }
                    value = try sealer.open(payload.token, for: event.stream, as: .token)
                } catch {
                    // Never serve an older token as if it were the current one (the shared read
                    // models clear theirs too, see `ReadModelRow.rows(for:sealer:unreadable:)`).
                    token = nil
                    refreshToken = nil
                    throw error
                }
                token = CurrentToken(value: value, expiresAt: payload.expiresAt, position: event.position, issuedAt: event.recordedAt)
                lastRefresh = LastRefresh(
                    at: event.recordedAt, reason: payload.reason, node: event.metadata.node, upstreamLatencyMs: payload.upstreamLatencyMs
                )
                if let sealed = payload.refreshToken { refreshToken = try sealer.open(sealed, for: event.stream, as: .refreshToken) }
                lastFailure = nil
                consecutiveFailures = 0
            case .refreshFailed:
                let payload = try event.decode(RefreshFailed.self)
                // A budget refusal was decided before the platform was asked: no call, no failure of the app.
                guard payload.code != LedgerError.Code.quotaBudgetExhausted.description else { break }
                calls.count(at: event.recordedAt, platform: event.stream.platform, forced: payload.reason == .forced)
                // A superseded fetch says the app works: the token issued meanwhile is current.
                guard payload.code != RefreshFailed.superseded else { break }
                lastFailure = LastFailure(
                    code: payload.code, at: event.recordedAt, position: event.position,
                    platformCode: payload.platformCode, platformMessage: payload.platformMessage
                )
                consecutiveFailures += 1
            case .tokenRevoked:
                token = nil
            case .credentialsRemoved:
                secret = nil
                token = nil
                refreshToken = nil
                options = [:]
                removed = true
            }
        } catch {
            unreadable = true
        }
    }
}

/// The token a stream currently serves.
public struct CurrentToken: Sendable, Equatable {
    /// The token itself (plaintext, in memory only).
    public var value: String
    /// When the platform says it expires.
    public var expiresAt: Date
    /// The position of its `token.issued` event.
    public var position: Int64
    /// When it was recorded.
    public var issuedAt: Date

    /// Creates a current token.
    public init(value: String, expiresAt: Date, position: Int64, issuedAt: Date) {
        self.value = value
        self.expiresAt = expiresAt
        self.position = position
        self.issuedAt = issuedAt
    }
}

/// The last failed refresh of a stream.
public struct LastFailure: Sendable, Equatable {
    /// Our stable error code.
    public var code: String
    /// When it was recorded.
    public var at: Date
    /// Its position.
    public var position: Int64
    /// The platform's own code (WeChat's `errcode`), when it gave one.
    public var platformCode: String?
    /// The platform's own message, when it gave one.
    public var platformMessage: String?

    /// Creates a failure record.
    public init(code: String, at: Date, position: Int64, platformCode: String? = nil, platformMessage: String? = nil) {
        self.code = code
        self.at = at
        self.position = position
        self.platformCode = platformCode
        self.platformMessage = platformMessage
    }
}

/// The refresh that issued a stream's token: when, why, on which replica, how long the platform took.
public struct LastRefresh: Sendable, Equatable {
    /// When its `token.issued` was recorded.
    public var at: Date
    /// Why it was fetched.
    public var reason: RefreshReason
    /// The replica that appended it.
    public var node: String
    /// How long the platform took to answer, in milliseconds.
    public var upstreamLatencyMs: Int

    /// Creates a refresh record.
    public init(at: Date, reason: RefreshReason, node: String, upstreamLatencyMs: Int) {
        self.at = at
        self.reason = reason
        self.node = node
        self.upstreamLatencyMs = upstreamLatencyMs
    }
}
