import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
public import TokenLedger

/// What the routes read from a request besides its body, and how a served token is answered.
extension TokenController {
    /// The stream a route's `:project/:platform/:appid` names (the dashboard's routes too).
    public static func stream(_ context: TokenRequestContext) throws -> StreamID {
        try StreamID(
            project: context.parameters.get("project") ?? "",
            platform: context.parameters.get("platform") ?? "",
            appid: context.parameters.get("appid") ?? ""
        )
    }

    static func callContext(_ request: Request, actor: String?) throws -> CallContext {
        var minPosition: Int64 = 0
        if let header = request.headers[.minPosition] {
            guard let value = Int64(header), value >= 0 else {
                throw LedgerError(.invalidInput, "X-Ledger-Min-Position must be a non-negative integer")
            }
            minPosition = value
        }
        // An id is generated only when an event needs one (the ledger's slow path), not per read.
        let requestID = request.headers[.requestID].map { String($0.prefix(64)) }
        return CallContext(requestID: requestID, actor: actor, minPosition: minPosition)
    }

    static func tokenResponse(_ served: ServedToken) -> Response {
        Envelope.string(served.token, headers: tokenHeaders(served))
    }

    /// The headers and envelope of `tokenResponse(_:)`, as the fast path keeps them.
    static func tokenAnswer(_ served: ServedToken) -> (headers: HTTPFields, body: ByteBuffer) {
        (Envelope.fields(tokenHeaders(served)), ByteBuffer(string: Envelope.stringJSON(served.token)))
    }

    private static func tokenHeaders(_ served: ServedToken) -> HTTPFields {
        var headers: HTTPFields = [
            .position: String(served.position),
            .expiresAt: String(Int64(served.expiresAt.timeIntervalSince1970)),
        ]
        if served.stale { headers[.stale] = "true" }
        return headers
    }

    /// `project`, `platform` and `type` of the events feed.
    static func eventFilter(_ request: Request) throws -> EventFilter {
        let query = request.uri.queryParameters
        var filter = EventFilter(project: query.get("project"), platform: query.get("platform"))
        if let type = query.get("type") {
            guard let eventType = EventType(rawValue: type) else {
                throw LedgerError(.invalidInput, "type is one of \(EventType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.type = eventType
        }
        return filter
    }

    /// `after` and `limit` of an audit page.
    static func page(_ request: Request) throws -> (after: Int64, limit: Int) {
        let query = request.uri.queryParameters
        let after = try integer(query.get("after"), name: "after", default: 0, range: 0...Int64.max)
        let limit = try integer(query.get("limit"), name: "limit", default: 100, range: 1...1000)
        return (after, Int(limit))
    }

    static func integer(_ text: String?, name: String, default value: Int64, range: ClosedRange<Int64>) throws -> Int64 {
        guard let text else { return value }
        guard let number = Int64(text), range.contains(number) else {
            throw LedgerError(.invalidInput, "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }
}
