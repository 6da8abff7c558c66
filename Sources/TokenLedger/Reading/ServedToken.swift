#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A token as handed to a caller.
public struct ServedToken: Sendable, Equatable {
    /// The token.
    public var token: String
    /// When the platform says it expires.
    public var expiresAt: Date
    /// The log position of its `token.issued` event: a caller passes it to another replica to
    /// read its own writes.
    public var position: Int64
    /// True when no fresh token could be had and this one, still accepted by the platform, is
    /// served past its freshness margin.
    public var stale: Bool

    /// Creates a served token.
    public init(token: String, expiresAt: Date, position: Int64, stale: Bool = false) {
        self.token = token
        self.expiresAt = expiresAt
        self.position = position
        self.stale = stale
    }

    init(_ current: CurrentToken, stale: Bool = false) {
        self.init(token: current.value, expiresAt: current.expiresAt, position: current.position, stale: stale)
    }
}

/// Who is asking, for the events' metadata, and what they have seen.
public struct CallContext: Sendable {
    /// The request id.
    public var requestID: String?
    /// The API key id or `config`/`scheduler`.
    public var actor: String?
    /// The highest log position the caller has seen (read-your-writes across replicas).
    public var minPosition: Int64
    /// Whether the caller may register or change an app's credentials (an admin key, the
    /// configuration, an operator's command). The ledger checks it against the state it appends on.
    public var mayChangeCredentials: Bool

    /// Creates a context.
    public init(requestID: String? = nil, actor: String? = nil, minPosition: Int64 = 0, mayChangeCredentials: Bool = true) {
        self.requestID = requestID
        self.actor = actor
        self.minPosition = minPosition
        self.mayChangeCredentials = mayChangeCredentials
    }

    /// This context with a request id: the caller's, or a short random one generated here, on the
    /// slow path only, so that every event one request causes carries the same id.
    public func withRequestID() -> CallContext {
        guard requestID == nil else { return self }
        var context = self
        var generator = SystemRandomNumberGenerator()
        context.requestID = String(generator.next() & 0xFFFF_FFFF_FFFF, radix: 36)
        return context
    }
}
