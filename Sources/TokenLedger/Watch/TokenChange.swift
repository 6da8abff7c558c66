/// What a watcher of one token (`GET /token/…/watch`) is told of an event of its stream.
public enum TokenChange: Sendable, Equatable {
    /// The stream serves this token from now on: the current one when the watch opens, then each
    /// `token.issued`.
    case token(ServedToken)
    /// The stream serves no token from this position on (`token.revoked`, `credentials.removed`,
    /// or a `token.issued` that no configured key opens: `corrupt_event`), until the next `.token`.
    case noToken(position: Int64, reason: String)
    /// A refresh failed (`token.refresh_failed`, with our error code); the current token, if any,
    /// is still served.
    case refreshFailed(position: Int64, code: String)

    /// The change `event` makes to what its stream serves, opened with `sealer`; nil for an
    /// event a token's reader does not see (`credentials.set`: a token tried with new credentials
    /// is its own `token.issued`).
    public init?(_ event: RecordedEvent, sealer: Sealer) {
        switch event.type {
        case .tokenIssued:
            guard let payload = try? event.decode(TokenIssued.self),
                let value = try? sealer.open(payload.token, for: event.stream, as: .token)
            else {
                // As the memory model does: a token that does not open is never replaced by an older one.
                self = .noToken(position: event.position, reason: LedgerError.Code.corruptEvent.description)
                return
            }
            self = .token(ServedToken(token: value, expiresAt: payload.expiresAt, position: event.position))
        case .refreshFailed:
            let code = (try? event.decode(RefreshFailed.self))?.code ?? LedgerError.Code.corruptEvent.description
            self = .refreshFailed(position: event.position, code: code)
        case .tokenRevoked, .credentialsRemoved:
            self = .noToken(position: event.position, reason: event.type.rawValue)
        case .credentialsSet:
            return nil
        }
    }

    /// The log position of the event (of the token, for `.token`).
    public var position: Int64 {
        switch self {
        case .token(let served): served.position
        case .noToken(let position, _), .refreshFailed(let position, _): position
        }
    }
}
