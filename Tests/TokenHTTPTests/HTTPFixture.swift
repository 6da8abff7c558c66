import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import LedgerTestSupport
import TokenHTTP
import TokenLedger

/// The token API in-process: a real ledger on the in-memory log, `FakePlatform` as `wechat`,
/// driven through `app.test(.router)` (no socket, no process).
struct HTTPFixture: Sendable {
    /// The ledger, its log and its clock.
    let ledger: LedgerFixture
    /// The platform every `wechat` stream is served by (secret `S` unless told otherwise).
    let platform: FakePlatform
    /// The controller under test.
    let controller: TokenController
    /// What `/metrics` answers, if anything.
    let metrics: (@Sendable () -> Response)?

    /// A fixture with access control as given (`.none` by default).
    init(
        access: AccessControl? = nil, platform: FakePlatform = FakePlatform(), freshness: Freshness = Freshness(), budgets: QuotaBudgets = QuotaBudgets(),
        metrics: (@Sendable () -> Response)? = nil, watch: WatchOptions = WatchOptions()
    ) throws {
        let ledger = try LedgerFixture(platforms: ["wechat": platform], freshness: freshness, budgets: budgets)
        controller = TokenController(
            ledger: ledger.ledger, platforms: ["wechat": platform], sealer: ledger.sealer, access: try access ?? AccessControl(mode: .none, entries: []),
            watch: watch
        )
        self.ledger = ledger
        self.platform = platform
        self.metrics = metrics
    }

    /// Runs `body` with a client of the router.
    func test(_ body: @Sendable (Client) async throws -> Void) async throws {
        try await Application(router: buildRouter(controller, metrics: metrics)).test(.router) { client in try await body(Client(client: client)) }
    }

    /// Every event in the log, in order.
    func events() async throws -> [RecordedEvent] {
        try await ledger.log.readAll(after: 0, limit: 10_000)
    }

    /// A test client that answers envelopes.
    struct Client: Sendable {
        let client: any TestClientProtocol

        /// Sends a request; `key` as `Authorization: Bearer`.
        func call(
            _ method: HTTPRequest.Method, _ uri: String, key: String? = nil, body: String? = nil, headers: HTTPFields = [:]
        ) async throws -> Answer {
            var fields = headers
            if let key { fields[.authorization] = "Bearer \(key)" }
            return try await client.execute(uri: uri, method: method, headers: fields, body: body.map { ByteBuffer(string: $0) }) { response in
                Answer(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
            }
        }
    }

    /// An answer and its envelope.
    struct Answer: Sendable {
        let status: Int
        let headers: HTTPFields
        /// The body as sent.
        let text: String

        private var object: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
        }
        /// The envelope's `code`.
        var code: Int? { object["code"] as? Int }
        /// The envelope's `data` when it is a string (a token).
        var data: String? { object["data"] as? String }
        /// Whether `data` is null.
        var dataIsNull: Bool { object["data"] is NSNull }
        /// The envelope's `error`.
        var error: String? { object["error"] as? String }
        /// The envelope's `errorCode`.
        var errorCode: String? { object["errorCode"] as? String }
        /// The status and the error code, for one comparison.
        var outcome: (Int, String?) { (status, errorCode) }

        /// A header of the answer.
        func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { headers[$0] } }
    }
}

/// The keys of `AccessControl.newKey`, each with its configuration entry.
struct TestKeys {
    /// `read`, project `demo`.
    let reader: String
    /// `read` and `refresh`, project `demo`.
    let refresher: String
    /// Every scope, every project.
    let admin: String
    /// `admin` alone, project `demo`.
    let demoAdmin: String
    /// Access control knowing these four keys.
    let access: AccessControl

    init() throws {
        let reader = AccessControl.newKey(id: "reader", scopes: [.read], projects: ["demo"])
        let refresher = AccessControl.newKey(id: "refresher", scopes: [.read, .refresh], projects: ["demo"])
        let admin = AccessControl.newKey(id: "ops", scopes: [.read, .refresh, .admin], projects: [])
        let demoAdmin = AccessControl.newKey(id: "demo-ops", scopes: [.admin], projects: ["demo"])
        self.reader = reader.key
        self.refresher = refresher.key
        self.admin = admin.key
        self.demoAdmin = demoAdmin.key
        access = try AccessControl(mode: .keys, entries: [reader.entry, refresher.entry, admin.entry, demoAdmin.entry])
    }
}
