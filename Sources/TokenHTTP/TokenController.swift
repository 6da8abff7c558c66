import Foundation
import Hummingbird
import HTTPTypes
public import TokenLedger

/// The token API: one method per route, every ledger call of the HTTP layer in this type.
///
/// Authentication has happened before a method runs (`Authenticator` fills `context.caller`);
/// each method authorizes the caller for what it is about to do, once it knows the stream.
public struct TokenController: Sendable {
    let ledger: Ledger
    let platforms: [String: any Platform]
    let sealer: Sealer
    let access: AccessControl
    let watchOptions: WatchOptions

    /// A controller over a ledger, the platforms (to check an app's options), the sealer (audit
    /// views) and access control; `watch` bounds the watch routes.
    public init(ledger: Ledger, platforms: [String: any Platform], sealer: Sealer, access: AccessControl, watch: WatchOptions = WatchOptions()) {
        self.ledger = ledger
        self.platforms = platforms
        self.sealer = sealer
        self.access = access
        self.watchOptions = watch
    }

    /// The route of a token, `GET /token/…` (the fast path records its request metrics under it).
    static let tokenPath = "token/:project/:platform/:appid"

    /// Adds the routes to `router`: health and readiness open to all, the rest behind `Authenticator`.
    func addRoutes(to router: Router<TokenRequestContext>) {
        router.get("healthz", use: healthz)
        router.get("readyz", use: readyz)
        let api = router.group().add(middleware: Authenticator(access))
        api.get(RouterPath(Self.tokenPath), use: token)
        api.put("token/:project/:platform/:appid", use: refresh)
        api.delete("token/:project/:platform/:appid", use: revoke)
        api.put("token/:project/:platform/:appid/credentials", use: setCredentials)
        api.delete("token/:project/:platform/:appid/credentials", use: removeApp)
        api.get("token/:project/:platform/:appid/status", use: status)
        api.get("token/:project/:platform/:appid/history", use: history)
        api.get("events", use: events)
        api.get("token/:project/:platform/:appid/watch", use: watchToken)
        api.get("events/watch", use: watchEvents)
    }

    /// `GET /token/…`: the current token; a secret other than the registered one registers it (admin).
    @Sendable func token(_ request: Request, context: TokenRequestContext) async throws -> Response {
        let stream = try Self.stream(context)
        let secret = request.uri.queryParameters.get("secret") ?? request.headers[.appSecret]
        let call = try await authorizeSecret(secret, of: stream, otherwise: .read, request: request, context: context)
        return Self.tokenResponse(try await ledger.reader.token(for: stream, secret: secret, context: call))
    }

    /// `PUT /token/…`: a new token, or with `nowToken` only if that one is still current.
    @Sendable func refresh(_ request: Request, context: TokenRequestContext) async throws -> Response {
        let stream = try Self.stream(context)
        // Who may refresh at all is settled before the body is read; what they may do, after.
        _ = try access.authorize(context.caller, .refresh, project: stream.project)
        let body = try await RefreshBody.read(from: request)
        let query = request.uri.queryParameters
        let secret = body.secret ?? query.get("secret") ?? request.headers[.appSecret]
        let nowToken = body.nowToken ?? query.get("nowToken")
        let call = try await authorizeSecret(secret, of: stream, otherwise: .refresh, request: request, context: context)
        return Self.tokenResponse(try await ledger.reader.refresh(stream, secret: secret, nowToken: nowToken, context: call))
    }

    /// `PUT /token/…/credentials`: sets the secret and options exactly as given (admin).
    @Sendable func setCredentials(_ request: Request, context: TokenRequestContext) async throws -> Response {
        let stream = try Self.stream(context)
        let actor = try access.authorize(context.caller, .admin, project: stream.project)
        let body = try await CredentialsBody.read(from: request)
        try await platforms[stream.platform]?.checkOptions(body.options)
        let version = try await ledger.credentials.set(
            stream, secret: body.secret, options: body.options, verify: body.verify, context: Self.callContext(request, actor: actor)
        )
        // The position to pass as X-Ledger-Min-Position to another replica, to read this change there.
        let position = ledger.projector.model.state(of: stream)?.position ?? ledger.projector.model.checkpoint
        return try Envelope.value(["stream": stream.description, "version": String(version)], headers: [.position: String(position)])
    }

    /// `DELETE /token/…`: revokes the current token (`token.revoked`, with the optional `reason`):
    /// it is never served again and the next read fetches a new one (admin). No platform call.
    @Sendable func revoke(_ request: Request, context: TokenRequestContext) async throws -> Response {
        let stream = try Self.stream(context)
        let call = try administering(stream, request: request, context: context)
        let reason = request.uri.queryParameters.get("reason").map { String($0.prefix(200)) } ?? "revoked through the API"
        return try Self.retired(stream, try await ledger.credentials.revokeToken(of: stream, reason: reason, context: call))
    }

    /// `DELETE /token/…/credentials`: removes the app (`credentials.removed`): its secret and token
    /// are no longer served or renewed until a secret is set again (admin). No platform call.
    @Sendable func removeApp(_ request: Request, context: TokenRequestContext) async throws -> Response {
        let stream = try Self.stream(context)
        let call = try administering(stream, request: request, context: context)
        return try Self.retired(stream, try await ledger.credentials.remove(stream, context: call))
    }

    /// `GET /token/…/status`: state, expiry, next renewal and today's budget — never the token (read).
    @Sendable func status(_ request: Request, context: TokenRequestContext) async throws -> Response {
        let stream = try Self.stream(context)
        _ = try access.authorize(context.caller, .read, project: stream.project)
        return try Envelope.value(StatusBody(try ledger.reader.status(of: stream)))
    }

    /// `GET /token/…/history`: the stream's events, secrets and tokens masked (admin).
    @Sendable func history(_ request: Request, context: TokenRequestContext) async throws -> Response {
        let stream = try Self.stream(context)
        _ = try access.authorize(context.caller, .admin, project: stream.project)
        let (after, limit) = try Self.page(request)
        let events = try await ledger.audit.history(of: stream, afterVersion: after, limit: limit)
        return try Envelope.value(events.map { AuditEntry($0, sealer: sealer) })
    }

    /// `GET /events`: the global feed, filtered (admin; of every project without a project filter).
    @Sendable func events(_ request: Request, context: TokenRequestContext) async throws -> Response {
        let filter = try Self.eventFilter(request)
        // Without a project filter the feed spans every project: only a key for all projects may read it.
        _ = try access.authorize(context.caller, .admin, project: filter.project)
        let (after, limit) = try Self.page(request)
        let page = try await ledger.audit.events(after: after, limit: limit, filter: filter)
        return try Envelope.value(page.events.map { AuditEntry($0, sealer: sealer) }, headers: [.nextAfter: String(page.next)])
    }

    /// `GET /healthz`: the process answers.
    @Sendable func healthz(_ request: Request, context: TokenRequestContext) async throws -> Response {
        Envelope.string("ok")
    }

    /// `GET /readyz`: the memory read model has caught up (or shared read models can answer).
    @Sendable func readyz(_ request: Request, context: TokenRequestContext) async throws -> Response {
        // With shared read models a replica serves from them while its memory catches up.
        guard ledger.projector.isReady || ledger.reader.hasSharedReadModels else {
            throw LedgerError(.notReady, "the memory read model is still catching up")
        }
        return try Envelope.value(["checkpoint": ledger.projector.model.checkpoint])
    }

    /// The call context of an admin change to `stream` (revoke, remove).
    private func administering(_ stream: StreamID, request: Request, context: TokenRequestContext) throws -> CallContext {
        let actor = try access.authorize(context.caller, .admin, project: stream.project)
        var call = try Self.callContext(request, actor: actor)
        call.mayChangeCredentials = true
        return call
    }

    /// The answer to a revoke or remove: whether it appended an event, and where (nil: nothing to do).
    private static func retired(_ stream: StreamID, _ position: Int64?) throws -> Response {
        var headers: HTTPFields = [:]
        if let position { headers[.position] = String(position) }
        return try Envelope.value(RetireBody(stream: stream.description, changed: position != nil, position: position.map(String.init)), headers: headers)
    }

    /// Authorizes a read or refresh carrying `secret`: a secret other than the registered one
    /// registers it, which needs `admin` (and its options checked again); otherwise `scope`.
    func authorizeSecret(
        _ secret: String?, of stream: StreamID, otherwise scope: AccessControl.Scope, request: Request, context: TokenRequestContext
    ) async throws -> CallContext {
        let registers = secret.map { ledger.reader.isRegistered(secret: $0, for: stream) } == false
        let actor = try access.authorize(context.caller, registers ? .admin : scope, project: stream.project)
        if registers { try await checkRecordedOptions(of: stream) }
        var call = try Self.callContext(request, actor: actor)
        call.mayChangeCredentials = access.mayAdminister(context.caller, project: stream.project)
        return call
    }

    /// A new secret is recorded with the options the app already has: they are checked again (the
    /// policy may have changed since they were set), so that no `credentials.set` carries options
    /// the platform would refuse to act on.
    private func checkRecordedOptions(of stream: StreamID) async throws {
        guard let options = ledger.projector.model.state(of: stream)?.options, !options.isEmpty else { return }
        try await platforms[stream.platform]?.checkOptions(options)
    }
}
