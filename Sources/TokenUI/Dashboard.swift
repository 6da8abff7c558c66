public import Foundation
import HTTPTypes
import NIOCore
public import Hummingbird
import Mustache
public import TokenHTTP
public import TokenLedger

/// The dashboard at `/ui`: the fleet, one app's timeline and history with admin actions, and the
/// cluster, server-rendered from the memory model and the log.
///
/// Access follows `auth`: with keys, `/ui/login` takes an API key once and opens a signed,
/// expiring session cookie; every action carries the session's CSRF token. A key sees only its
/// projects, and actions only where its scopes allow them (the same checks as the API).
public struct Dashboard: Sendable {
    let ledger: Ledger
    let sealer: Sealer
    let access: AccessControl
    let sessions: Sessions
    let storeProjectors: [StoreProjector]
    let library: MustacheLibrary
    let now: @Sendable () -> Date

    /// `ui.*`: how sessions are kept.
    public struct Settings: Sendable {
        /// `ui.session_hours` (default 8): how long a sign-in lasts.
        public var sessionLifetime = Duration.seconds(8 * 3600)
        /// `ui.secure_cookie` (default false): mark the session cookie `Secure`, for a dashboard
        /// reached over HTTPS (a TLS-terminating proxy in front of the service).
        public var secureCookie = false

        /// The defaults.
        public init() {}
    }

    /// Apps per fleet page.
    static let pageSize = 100

    /// A dashboard over `ledger`, showing history opened with `sealer`, behind `access`;
    /// `storeProjectors` are listed on the cluster page, `settings` say how sessions are kept, `now` is the clock sessions expire by
    /// (states are judged by the ledger's own clock, as `GET /token/…/status` does).
    public init(
        ledger: Ledger, sealer: Sealer, access: AccessControl, storeProjectors: [StoreProjector] = [],
        settings: Settings = Settings(), now: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        self.ledger = ledger
        self.sealer = sealer
        self.access = access
        // Signed with a key derived from the sealing key: sessions survive restarts and hold on
        // every replica behind one load balancer.
        self.sessions = Sessions(
            key: sealer.derivedKey(for: "tokenledger dashboard sessions v1"),
            lifetime: TimeInterval(settings.sessionLifetime.components.seconds),
            secure: settings.secureCookie
        )
        self.storeProjectors = storeProjectors
        self.now = now
        var library = MustacheLibrary()
        for (name, text) in Templates.all { try library.register(text, named: name) }
        self.library = library
    }

    /// Adds the `/ui` routes to `router` (outside the API's bearer authentication: the dashboard
    /// authenticates with its session cookie).
    public func addRoutes(to router: Router<TokenRequestContext>) {
        router.get("ui/style.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"], body: .init(byteBuffer: ByteBuffer(string: Templates.style)))
        }
        router.get("ui", use: fleet)
        let pages = router.group("ui").add(middleware: SameOriginForms())
        pages.get("login", use: loginForm)
        pages.post("login", use: login)
        pages.post("logout", use: logout)
        pages.get("cluster", use: cluster)
        pages.get("app/:project/:platform/:appid", use: app)
        pages.post("app/:project/:platform/:appid/refresh", use: refreshNow)
        pages.post("app/:project/:platform/:appid/secret", use: setSecret)
        pages.post("app/:project/:platform/:appid/revoke", use: revokeToken)
        pages.post("app/:project/:platform/:appid/remove", use: removeApp)
    }

    /// Who is looking: the key of a valid session, or everyone with access control off.
    struct Viewer {
        let key: AccessControl.Key?
        let session: Sessions.Session?
        /// The header's "signed in as" part.
        let user: User
    }

    /// The header's user part.
    struct User {
        let name: String
        let canLogOut: Bool
        let csrf: String
    }

    /// The viewer of `request`, or nil when a session is needed and there is none.
    func viewer(_ request: Request) -> Viewer? {
        guard access.enabled else {
            return Viewer(key: nil, session: nil, user: User(name: "everyone (auth.mode: none)", canLogOut: false, csrf: sessions.csrf(for: nil)))
        }
        guard let value = Sessions.value(inCookieHeader: request.headers[.cookie]),
            let session = sessions.verify(value, now: now()),
            let key = access.key(id: session.keyID)
        else { return nil }
        return Viewer(key: key, session: session, user: User(name: key.id, canLogOut: true, csrf: sessions.csrf(for: session)))
    }

    /// Runs `body` for a signed-in viewer; otherwise sends the browser to the login form.
    func signedIn(_ request: Request, _ body: (Viewer) async throws -> Response) async throws -> Response {
        guard let viewer = viewer(request) else { return Self.redirect("/ui/login") }
        return try await showingErrors(to: viewer) { try await body(viewer) }
    }

    /// What `body` answers, or a page saying why the ledger refused (with the API's status).
    func showingErrors(to viewer: Viewer, _ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as LedgerError {
            return page("message", Message(title: "Not possible", kind: "problem", text: error.message, user: viewer.user), status: ErrorMapping.status(for: error.code))
        }
    }

    /// A page rendered from `template` with `object`.
    func page(_ template: String, _ object: Any, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let html = library.render(object, withTemplate: template) ?? ""
        var fields: HTTPFields = [
            .contentType: "text/html; charset=utf-8",
            .cacheControl: "no-store",
            .contentSecurityPolicy: "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
            .frameOptions: "DENY",
            .referrerPolicy: "no-referrer",
        ]
        fields.append(contentsOf: headers)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// `303 See Other` to `location`.
    static func redirect(_ location: String, headers: HTTPFields = [:]) -> Response {
        var fields: HTTPFields = [.location: location]
        fields.append(contentsOf: headers)
        return Response(status: .seeOther, headers: fields)
    }

    /// A message page's contents.
    struct Message {
        let title: String
        /// `notice` or `problem`.
        let kind: String
        let text: String
        let user: User?
    }

    /// `/ui/app/project/platform/appid`, percent-encoded.
    static func appPath(_ stream: StreamID) -> String {
        "/ui/app/" + [stream.project, stream.platform, stream.appid].map(Formatting.encode).joined(separator: "/")
    }
}
