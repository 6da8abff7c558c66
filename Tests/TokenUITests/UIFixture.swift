import Foundation
import NIOCore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerTestSupport
import TokenHTTP
import TokenLedger
import TokenUI

/// The dashboard in-process: a ledger on the in-memory log with a healthy `wechat` and a busy
/// `feishu`, driven through `app.test(.router)`.
struct UIFixture: Sendable {
    let ledger: LedgerFixture
    /// `wechat`: secret `S`.
    let healthy: FakePlatform
    /// `feishu`: every call fails busy, with a hostile message.
    let busy: FakePlatform
    let dashboard: Dashboard

    static let hostile = "<script>alert(1)</script>"

    init(access: AccessControl? = nil, settings: Dashboard.Settings = Dashboard.Settings(), snapshots: (any MemorySnapshotStore)? = nil) throws {
        healthy = FakePlatform()
        busy = FakePlatform()
        busy.setFailure(PlatformError(.busy, platformCode: "-1", platformMessage: Self.hostile))
        let ledger = try LedgerFixture(
            platforms: ["wechat": healthy, "feishu": busy], renewalPolicy: RefreshPlan.Policy(lead: 60, jitter: 0), snapshots: snapshots
        )
        dashboard = try Dashboard(
            ledger: ledger.ledger, sealer: ledger.sealer, access: try access ?? AccessControl(mode: .none, entries: []),
            settings: settings, now: { ledger.clock.now }
        )
        self.ledger = ledger
    }

    /// Registers `secret` for `project/platform/appid`; with `fetch`, reads its token once
    /// (failures are recorded, not thrown).
    @discardableResult
    func app(_ project: String, _ platform: String, _ appid: String, secret: String = "S", fetch: Bool = true) async throws -> StreamID {
        let stream = try StreamID(project: project, platform: platform, appid: appid)
        try await ledger.ledger.credentials.register(secret: secret, for: stream, context: CallContext(actor: "test"))
        if fetch { _ = try? await ledger.ledger.reader.token(for: stream, secret: nil, context: CallContext()) }
        return stream
    }

    /// Runs `body` with a client of a router holding only the dashboard (`dashboard`, or another
    /// one over the same ledger: a restarted process or another replica).
    func test(with dashboard: Dashboard? = nil, _ body: @Sendable (Client) async throws -> Void) async throws {
        let router = Router(context: TokenRequestContext.self)
        (dashboard ?? self.dashboard).addRoutes(to: router)
        try await Application(router: router).test(.router) { client in try await body(Client(client: client)) }
    }

    func events() async throws -> [RecordedEvent] {
        try await ledger.log.readAll(after: 0, limit: 100_000)
    }

    struct Client: Sendable {
        let client: any TestClientProtocol

        func get(_ uri: String, cookie: String? = nil) async throws -> Page {
            try await send(.get, uri, cookie: cookie, form: nil)
        }

        func post(_ uri: String, cookie: String? = nil, form: [String: String], headers extra: HTTPFields = [:]) async throws -> Page {
            try await send(.post, uri, cookie: cookie, form: form, headers: extra)
        }

        func send(_ method: HTTPRequest.Method, _ uri: String, cookie: String?, form: [String: String]?, headers extra: HTTPFields = [:]) async throws -> Page {
            var headers = extra
            if let cookie { headers[.cookie] = cookie }
            if form != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
            let body = form.map { fields in
                fields.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
            }
            return try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
                Page(status: Int(response.status.code), headers: response.headers, html: String(buffer: response.body))
            }
        }

        /// Signs in with `key`; returns the `Cookie` header of the session.
        func login(_ key: String) async throws -> String {
            let page = try await post("/ui/login", form: ["key": key])
            guard page.status == 303, let setCookie = page.headers[.setCookie] else { throw LoginFailed(status: page.status) }
            return String(setCookie.prefix { $0 != ";" })
        }
    }

    struct LoginFailed: Error { let status: Int }

    struct Page: Sendable {
        let status: Int
        let headers: HTTPFields
        let html: String

        /// How many times `text` occurs.
        func count(_ text: String) -> Int { html.components(separatedBy: text).count - 1 }

        /// The `data-state` of the fleet row of `stream`.
        func state(of stream: StreamID) -> String? {
            guard let range = html.range(of: "data-app=\"\(stream)\" data-state=\"") else { return nil }
            return String(html[range.upperBound...].prefix { $0 != "\"" })
        }

        /// The value of the hidden CSRF field.
        var csrf: String? {
            guard let range = html.range(of: "name=\"csrf\" value=\"") else { return nil }
            return String(html[range.upperBound...].prefix { $0 != "\"" })
        }
    }
}
