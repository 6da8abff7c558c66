import Foundation
import HTTPTypes
import NIOCore
import Hummingbird
import TokenHTTP
import TokenLedger

/// `GET /ui/app/…`: one app's timeline, its masked history (admins) and its actions.
extension Dashboard {
    struct AppPage {
        let title: String
        let user: User
        let project: String
        let platform: String
        let appid: String
        let state: String
        let style: String
        let stateLabel: String
        let error: String?
        let budget: String
        let notice: String?
        let hours: Int
        let windows: [Choice]
        let svg: String
        let actions: Actions?
        let showHistory: Bool
        let events: [AuditEntry]
        let truncated: Bool
        let shown: Int
    }

    struct Actions {
        let base: String
        let csrf: String
        let canRefresh: Bool
        let canAdminister: Bool
    }

    /// The events read for one page: enough for a week of hourly tokens with failures between.
    static let historyLimit = 2000
    /// The rows of the history table.
    static let historyRows = 200

    /// What an action's redirect tells the page (fixed texts: nothing from the query is shown).
    static let notices = [
        "refreshed": "A new token was fetched: one upstream call, one event.",
        "secret": "The secret was set.",
        "revoked": "The token was revoked: the next read fetches a new one.",
        "removed": "The app was removed: nothing is served or renewed until a secret is set again.",
        "nothing": "Nothing to do: no token to revoke, or the app was already removed.",
    ]

    @Sendable func app(_ request: Request, context: TokenRequestContext) async throws -> Response {
        try await signedIn(request) { viewer in
            let stream = try TokenController.stream(context)
            guard access.maySee(viewer.key, project: stream.project) else {
                throw LedgerError(.forbidden, "this key may not see project \(stream.project)")
            }
            guard let state = ledger.projector.model.state(of: stream) else {
                throw LedgerError(.notFound, "no app \(stream) is known")
            }
            let hours = min(max(Int(request.uri.queryParameters.get("hours") ?? "") ?? 24, 1), 24 * 14)
            let events = try await ledger.audit.history(of: stream, afterVersion: max(state.version - Int64(Self.historyLimit), 0), limit: Self.historyLimit)
            let now = now()
            let status = ledger.reader.status(of: stream, state: state)
            let timeline = Timeline(hours: hours, now: now)
            let canRefresh = access.allows(viewer.key, .refresh, project: stream.project)
            let canAdminister = access.allows(viewer.key, .admin, project: stream.project)
            let entries = canAdminister ? events.suffix(Self.historyRows).reversed().map { AuditEntry($0, sealer: sealer) } : []
            let windows = Set([1, 6, 24, 72, 168, hours]).sorted()
            return page(
                "app",
                AppPage(
                    title: stream.description, user: viewer.user,
                    project: stream.project, platform: stream.platform, appid: stream.appid,
                    state: status.state.rawValue, style: status.state.style, stateLabel: status.state.label, error: status.error,
                    budget: status.budgetText,
                    notice: request.uri.queryParameters.get("done").flatMap { Self.notices[String($0)] },
                    hours: hours,
                    windows: windows.map { Choice(value: String($0), label: "\($0) h", selected: $0 == hours) },
                    svg: timeline.svg(events, stream: stream, freshness: ledger.options.freshness),
                    actions: canRefresh || canAdminister
                        ? Actions(base: Self.appPath(stream), csrf: viewer.user.csrf, canRefresh: canRefresh, canAdminister: canAdminister) : nil,
                    showHistory: canAdminister, events: entries, truncated: events.count > Self.historyRows, shown: entries.count
                )
            )
        }
    }

    /// The fields of an action's form.
    struct ActionForm: Decodable {
        var csrf: String?
        var confirm: String?
        var secret: String?
    }

    /// `POST /ui/app/…/refresh`: a forced refresh through the API's path (`TokenReader.refresh`).
    @Sendable func refreshNow(_ request: Request, context: TokenRequestContext) async throws -> Response {
        try await action(request, context: context, scope: .refresh) { stream, _, call in
            _ = try await ledger.reader.refresh(stream, secret: nil, nowToken: nil, context: call)
            return "refreshed"
        }
    }

    /// `POST /ui/app/…/secret`: sets the secret, keeping the app's options (`Credentials.set`).
    @Sendable func setSecret(_ request: Request, context: TokenRequestContext) async throws -> Response {
        try await action(request, context: context, scope: .admin) { stream, form, call in
            let options = ledger.projector.model.state(of: stream)?.options ?? [:]
            _ = try await ledger.credentials.set(stream, secret: form.secret ?? "", options: options, context: call)
            return "secret"
        }
    }

    /// `POST /ui/app/…/revoke`: `token.revoked` under the stream's refresh lock (`Credentials.revokeToken`).
    @Sendable func revokeToken(_ request: Request, context: TokenRequestContext) async throws -> Response {
        try await action(request, context: context, scope: .admin) { stream, _, call in
            try await ledger.credentials.revokeToken(of: stream, reason: "revoked from the dashboard", context: call) == nil ? "nothing" : "revoked"
        }
    }

    /// `POST /ui/app/…/remove`: `credentials.removed` under the stream's refresh lock (`Credentials.remove`).
    @Sendable func removeApp(_ request: Request, context: TokenRequestContext) async throws -> Response {
        try await action(request, context: context, scope: .admin) { stream, _, call in
            try await ledger.credentials.remove(stream, context: call) == nil ? "nothing" : "removed"
        }
    }

    /// An action: a session, its CSRF token, the confirmation, the scope on the stream's project,
    /// then `body`; answers with a redirect to the app page saying what `body` did.
    func action(
        _ request: Request, context: TokenRequestContext, scope: AccessControl.Scope,
        _ body: (StreamID, ActionForm, CallContext) async throws -> String
    ) async throws -> Response {
        guard let viewer = viewer(request) else {
            return page("message", Message(title: "Signed out", kind: "problem", text: "Sign in again to act.", user: nil), status: .unauthorized)
        }
        return try await showingErrors(to: viewer) {
            let form = try await Self.form(ActionForm.self, from: request, context: context)
            guard sessions.checkCSRF(form.csrf, session: viewer.session) else {
                return page(
                    "message", Message(title: "Refused", kind: "problem", text: "The form's CSRF token is missing or wrong.", user: viewer.user),
                    status: .forbidden
                )
            }
            let stream = try TokenController.stream(context)
            guard form.confirm == "yes" else {
                throw LedgerError(.invalidInput, "tick the confirmation box to go ahead")
            }
            let actor = try access.authorize(viewer.key, scope, project: stream.project)
            var call = CallContext(actor: actor)
            call.mayChangeCredentials = access.allows(viewer.key, .admin, project: stream.project)
            let done = try await body(stream, form, call)
            return Self.redirect(Self.appPath(stream) + "?done=" + done)
        }
    }

    /// A URL-encoded form body (at most 64 KiB).
    static func form<Form: Decodable>(_: Form.Type, from request: Request, context: TokenRequestContext) async throws -> Form {
        var request = request
        let buffer = try await request.collectBody(upTo: 64 * 1024)
        do {
            return try URLEncodedFormDecoder().decode(Form.self, from: String(buffer: buffer))
        } catch {
            throw LedgerError(.invalidInput, "the form could not be read")
        }
    }
}
