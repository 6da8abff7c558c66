import Foundation
public import Hummingbird
import NIOCore
import HTTPTypes
public import TokenLedger

/// `/token/:project/:platform/:appid` (GET, PUT, history), `/events`, health and readiness.
public struct TokenRoutes: Sendable {
    let ledger: Ledger
    let platforms: [String: any Platform]
    let sealer: Sealer
    let access: AccessControl

    /// Routes over a ledger, the platforms (to check an app's options), the sealer (audit views)
    /// and access control.
    public init(ledger: Ledger, platforms: [String: any Platform], sealer: Sealer, access: AccessControl) {
        self.ledger = ledger
        self.platforms = platforms
        self.sealer = sealer
        self.access = access
    }

    /// Header a caller sends with the highest position it has seen (read your writes across replicas).
    static let minPositionHeader = HTTPField.Name("X-Ledger-Min-Position")!
    /// Header carrying the position of the served token's event.
    static let positionHeader = HTTPField.Name("X-Ledger-Position")!
    /// Set when a token past its freshness margin (but still valid) is served because the platform failed.
    static let staleHeader = HTTPField.Name("X-Token-Stale")!
    /// When the platform says the token expires (seconds since 1970).
    static let expiresHeader = HTTPField.Name("X-Token-Expires-At")!
    static let requestIDHeader = HTTPField.Name("X-Request-Id")!
    /// The `after` to pass for the next page of the events feed.
    static let nextHeader = HTTPField.Name("X-Ledger-Next-After")!
    static let secretHeader = HTTPField.Name("X-App-Secret")!
    static let maxBody = 64 * 1024

    /// Adds the routes to `router`.
    public func register(on router: Router<BasicRequestContext>) {
        router.get("token/:project/:platform/:appid") { request, context in
            let stream = try Self.stream(context)
            let key = try access.authenticate(request)
            let secret = request.uri.queryParameters.get("secret") ?? request.headers[Self.secretHeader]
            let scope: AccessControl.Scope = secret.map { ledger.isRegistered(secret: $0, for: stream) } == false ? .admin : .read
            let actor = try access.authorize(key, scope, project: stream.project)
            if scope == .admin { try await checkRecordedOptions(of: stream) }
            var call = try Self.callContext(request, actor: actor)
            call.mayChangeCredentials = access.mayAdminister(key, project: stream.project)
            let served = try await ledger.token(for: stream, secret: secret, context: call)
            return Self.tokenResponse(served)
        }
        router.put("token/:project/:platform/:appid") { request, context in
            let stream = try Self.stream(context)
            // Who is asking is settled before the body is read; what they may do, after.
            let key = try access.authenticate(request)
            _ = try access.authorize(key, .refresh, project: stream.project)
            let body = try await PutBody(request: request)
            let query = request.uri.queryParameters
            let secret = body.secret ?? query.get("secret") ?? request.headers[Self.secretHeader]
            let nowToken = body.nowToken ?? query.get("nowToken")
            let scope: AccessControl.Scope = secret.map { ledger.isRegistered(secret: $0, for: stream) } == false ? .admin : .refresh
            let actor = try access.authorize(key, scope, project: stream.project)
            if scope == .admin { try await checkRecordedOptions(of: stream) }
            var call = try Self.callContext(request, actor: actor)
            call.mayChangeCredentials = access.mayAdminister(key, project: stream.project)
            let served = try await ledger.refresh(stream, secret: secret, nowToken: nowToken, context: call)
            return Self.tokenResponse(served)
        }
        router.put("token/:project/:platform/:appid/credentials") { request, context in
            let stream = try Self.stream(context)
            let actor = try access.authorize(request, .admin, project: stream.project)
            let body = try await CredentialsBody(request: request)
            try await platforms[stream.platform]?.checkOptions(body.options)
            let served = try await ledger.setCredentials(
                stream, secret: body.secret, options: body.options, verify: body.verify, context: Self.callContext(request, actor: actor)
            )
            return try Envelope.value(["stream": stream.description, "version": String(served)])
        }
        router.get("token/:project/:platform/:appid/history") { request, context in
            let stream = try Self.stream(context)
            _ = try access.authorize(request, .admin, project: stream.project)
            let query = request.uri.queryParameters
            let after = try Self.integer(query.get("after"), name: "after", default: 0, range: 0...Int64.max)
            let limit = try Self.integer(query.get("limit"), name: "limit", default: 100, range: 1...1000)
            let events = try await ledger.history(of: stream, afterVersion: after, limit: Int(limit))
            return try Envelope.value(events.map { AuditEntry($0, sealer: sealer) })
        }
        router.get("events") { request, _ in
            let query = request.uri.queryParameters
            var filter = EventFilter(project: query.get("project"), platform: query.get("platform"))
            if let type = query.get("type") {
                guard let eventType = EventType(rawValue: type) else {
                    throw LedgerError(.invalidInput, "type is one of \(EventType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                filter.type = eventType
            }
            // Without a project filter the feed spans every project: only a key for all projects may read it.
            _ = try access.authorize(request, .admin, project: filter.project)
            let after = try Self.integer(query.get("after"), name: "after", default: 0, range: 0...Int64.max)
            let limit = try Self.integer(query.get("limit"), name: "limit", default: 100, range: 1...1000)
            let page = try await ledger.events(after: after, limit: Int(limit), filter: filter)
            return try Envelope.value(page.events.map { AuditEntry($0, sealer: sealer) }, headers: [Self.nextHeader: String(page.next)])
        }
        router.get("healthz") { _, _ in Envelope.string("ok") }
        router.get("readyz") { _, _ in
            // With shared read models a replica serves from them while its memory catches up.
            guard ledger.projector.isReady || ledger.hasSharedReadModels else {
                return Envelope.failure(.serviceUnavailable, message: "the memory read model is still catching up", errorCode: "not_ready")
            }
            return try Envelope.value(["checkpoint": ledger.projector.model.checkpoint])
        }
    }

    /// A new secret is recorded with the options the app already has: they are checked again (the
    /// policy may have changed since they were set), so that no `credentials.set` carries options
    /// the platform would refuse to act on.
    func checkRecordedOptions(of stream: StreamID) async throws {
        guard let options = ledger.projector.model.state(of: stream)?.options, !options.isEmpty else { return }
        try await platforms[stream.platform]?.checkOptions(options)
    }

    static func stream(_ context: BasicRequestContext) throws -> StreamID {
        try StreamID(
            project: context.parameters.get("project") ?? "",
            platform: context.parameters.get("platform") ?? "",
            appid: context.parameters.get("appid") ?? ""
        )
    }

    static func callContext(_ request: Request, actor: String?) throws -> CallContext {
        var minPosition: Int64 = 0
        if let header = request.headers[minPositionHeader] {
            guard let value = Int64(header), value >= 0 else {
                throw LedgerError(.invalidInput, "X-Ledger-Min-Position must be a non-negative integer")
            }
            minPosition = value
        }
        // An id is generated only when an event needs one (the ledger's slow path), not per read.
        let requestID = request.headers[requestIDHeader].map { String($0.prefix(64)) }
        return CallContext(requestID: requestID, actor: actor, minPosition: minPosition)
    }

    static func tokenResponse(_ served: ServedToken) -> Response {
        var headers: HTTPFields = [
            positionHeader: String(served.position),
            expiresHeader: String(Int64(served.expiresAt.timeIntervalSince1970)),
        ]
        if served.stale { headers[staleHeader] = "true" }
        return Envelope.string(served.token, headers: headers)
    }

    static func integer(_ text: String?, name: String, default value: Int64, range: ClosedRange<Int64>) throws -> Int64 {
        guard let text else { return value }
        guard let number = Int64(text), range.contains(number) else {
            throw LedgerError(.invalidInput, "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }
}

/// The PUT body: `{"secret"?: string, "nowToken"?: string}`; empty is fine, anything else is a 400.
struct PutBody {
    var secret: String?
    var nowToken: String?

    init(request: Request) async throws {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: TokenRoutes.maxBody)
        } catch {
            throw LedgerError(.invalidInput, "the body is larger than \(TokenRoutes.maxBody) bytes")
        }
        let bytes = Data(buffer.readableBytesView)
        guard !bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) else { return }
        guard let object = try? JSONSerialization.jsonObject(with: bytes), let fields = object as? [String: Any] else {
            throw LedgerError(.invalidInput, "the body must be a JSON object like {\"nowToken\": \"…\", \"secret\": \"…\"}")
        }
        secret = try Self.optionalString(fields["secret"], name: "secret")
        nowToken = try Self.optionalString(fields["nowToken"], name: "nowToken")
    }

    private static func optionalString(_ value: Any?, name: String) throws -> String? {
        switch value {
        case nil, is NSNull: return nil
        case let text as String where !text.isEmpty: return text
        case is String: throw LedgerError(.invalidInput, "\(name) must not be empty")
        default: throw LedgerError(.invalidInput, "\(name) must be a string")
        }
    }
}

/// The credentials body: `{"secret": string, "options"?: {string: string}, "verify"?: bool}`.
struct CredentialsBody {
    var secret: String
    var options: [String: String]
    /// Whether a change to working credentials is tried with the platform first (default true).
    var verify = true

    init(request: Request) async throws {
        var request = request
        let buffer = try await request.collectBody(upTo: TokenRoutes.maxBody)
        guard let fields = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any] else {
            throw LedgerError(.invalidInput, "the body must be a JSON object like {\"secret\": \"…\", \"options\": {\"mode\": \"classic\"}}")
        }
        guard let secret = fields["secret"] as? String, !secret.isEmpty else {
            throw LedgerError(.invalidInput, "secret is required and must be a non-empty string")
        }
        var options: [String: String] = [:]
        if let raw = fields["options"], !(raw is NSNull) {
            guard let object = raw as? [String: Any] else { throw LedgerError(.invalidInput, "options must be an object of strings") }
            for (key, value) in object {
                guard let text = value as? String else { throw LedgerError(.invalidInput, "option \(key) must be a string") }
                options[key] = text
            }
        }
        switch fields["verify"] {
        case nil, is NSNull: break
        case let flag as Bool: verify = flag
        default: throw LedgerError(.invalidInput, "verify must be true or false")
        }
        self.secret = secret
        self.options = options
    }
}
