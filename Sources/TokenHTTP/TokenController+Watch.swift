import Foundation
import Hummingbird
import TokenLedger

/// The watch routes: Server-Sent Events fed by this replica's memory projector.
extension TokenController {
    /// `GET /token/…/watch`: the token as GET serves it (read scope), then every change of the
    /// stream (`event: token`, `no_token`, `refresh_failed`, see `TokenWatchData`). With
    /// `Last-Event-ID`, no first token: the changes after that position.
    @Sendable func watchToken(_ request: Request, context: TokenRequestContext) async throws -> Response {
        let stream = try Self.stream(context)
        let lastEventID = try EventStream.lastEventID(request)
        let end = try EventStream.end(request)
        let call = try await authorizeSecret(nil, of: stream, otherwise: .read, request: request, context: context)
        let (current, watch) = try await ledger.reader.watch(stream, after: lastEventID, maxWatchers: watchOptions.maxWatchers, context: call)
        let sealer = self.sealer
        return EventStream(
            first: current.map { [TokenWatchData.message(.token($0))] } ?? [],
            watch: watch, options: watchOptions, end: end,
            render: { events in events.compactMap { TokenChange($0, sealer: sealer).map(TokenWatchData.message) } }
        ).response()
    }

    /// `GET /events/watch`: the feed as `/events` shows it (admin; masked), each event as
    /// `event: <type>`. It starts after `Last-Event-ID`, else after `?after=`, else at this
    /// replica's head, which it first announces as `event: head` (the position to resume from).
    @Sendable func watchEvents(_ request: Request, context: TokenRequestContext) async throws -> Response {
        let filter = try Self.eventFilter(request)
        _ = try access.authorize(context.caller, .admin, project: filter.project)
        let lastEventID = try EventStream.lastEventID(request)
        let after = try request.uri.queryParameters.get("after").map { try Self.integer($0, name: "after", default: 0, range: 0...Int64.max) }
        let end = try EventStream.end(request)
        let start = lastEventID ?? after
        let cursor = start ?? ledger.projector.feed.head
        let watch = try ledger.projector.feed.watch(after: cursor, log: ledger.log, maxWatchers: watchOptions.maxWatchers) { filter.matches($0) }
        let sealer = self.sealer
        let head = EventStream.Message(id: cursor, event: "head", data: #"{"position":\#(cursor)}"#)
        return EventStream(
            first: start == nil ? [head] : [], watch: watch, options: watchOptions, end: end,
            render: { events in
                events.map { EventStream.Message(id: $0.position, event: $0.type.rawValue, data: EventStream.json(AuditEntry($0, sealer: sealer))) }
            }
        ).response()
    }
}

/// The `data` of a token watch's messages: `token` (`{"expires_at","position","stale","token"}`,
/// `expires_at` in seconds since 1970 as `X-Token-Expires-At`), `no_token`
/// (`{"position","reason"}`) and `refresh_failed` (`{"error","position"}`).
struct TokenWatchData: Encodable {
    var position: Int64
    var token: String?
    var expiresAt: Int64?
    var stale: Bool?
    var reason: String?
    var error: String?

    enum CodingKeys: String, CodingKey {
        case position, token
        case expiresAt = "expires_at"
        case stale, reason, error
    }

    static func message(_ change: TokenChange) -> EventStream.Message {
        switch change {
        case .token(let served):
            let data = TokenWatchData(
                position: served.position, token: served.token, expiresAt: Int64(served.expiresAt.timeIntervalSince1970), stale: served.stale
            )
            return EventStream.Message(id: served.position, event: "token", data: EventStream.json(data))
        case .noToken(let position, let reason):
            return EventStream.Message(id: position, event: "no_token", data: EventStream.json(TokenWatchData(position: position, reason: reason)))
        case .refreshFailed(let position, let code):
            return EventStream.Message(id: position, event: "refresh_failed", data: EventStream.json(TokenWatchData(position: position, error: code)))
        }
    }
}
