import Dispatch
import HTTPTypes
import Hummingbird
import Metrics
import NIOCore
import NIOHTTP1
import TokenLedger

/// `GET /token/{project}/{platform}/{appid}` answered on the connection's event loop when memory
/// holds a fresh token for it: the same answer as the router's — status, headers, envelope, scopes,
/// request metrics — without its per-request work. Anything else, and any read it cannot answer
/// exactly so (a secret, a query, an unknown or refused key, a stale or missing token, a position
/// memory has not reached), goes on to the router, which decides as it always does.
///
/// `TokenFastPathHandler` is its per-connection half; `HTTPServerBuilder.http1(fastPath:)` puts it
/// in every connection's pipeline.
public struct TokenFastPath: Sendable {
    let reader: TokenReader
    let access: AccessControl
    /// The `Server` header Hummingbird's application adds to every answer (its configuration's).
    let serverName: String?
    /// What the router's request metrics record for the route; nil without request metrics.
    let metrics: RouteMetrics?

    /// The fast path of `controller`'s token reads. `serverName` is the application's (the `Server`
    /// header); `requestMetrics` says whether the router records request metrics
    /// (`buildRouter(_:metrics:)` given metrics), which the fast path then records too.
    public init(_ controller: TokenController, serverName: String?, requestMetrics: Bool) {
        reader = controller.ledger.reader
        access = controller.access
        self.serverName = serverName
        metrics = requestMetrics ? RouteMetrics(route: RouterPath(TokenController.tokenPath).description, method: .get, status: .ok) : nil
    }

    /// Whether `head` is shaped like a read this path may answer, before its end arrives: an HTTP/1.1
    /// `GET` under `/token/` (HTTP/1.0 and anything else are the router's).
    func mayAnswer(_ head: HTTPRequestHead) -> Bool {
        head.method == .GET && head.version == .http1_1 && head.uri.utf8.starts(with: Self.prefix.utf8)
    }

    /// The answer to `head`, encoded (from `answers` when it still holds), or nil when the router
    /// must answer: every check the router's `GET /token/…` makes, in the same order of outcome.
    func answer(
        _ head: HTTPRequestHead, answers: inout [String: EncodedAnswer], remembered: inout AccessControl.RememberedKey?, dateSecond: Int64,
        date: String
    ) -> EncodedAnswer? {
        let path = head.uri
        guard let fields = ReadHeaders(head.headers) else { return nil }
        // A secret may register one (admin); a closing connection is closed by the router's loop.
        guard fields.appSecret == nil, fields.connection.map({ $0.lowercased() == "keep-alive" }) ?? true else { return nil }
        var minPosition: Int64 = 0
        if let header = fields.minPosition {
            guard let value = Int64(header), value >= 0 else { return nil }
            minPosition = value
        }
        let cached = answers[path]
        guard let stream = cached?.fresh.stream ?? Self.stream(inPath: path) else { return nil }
        if access.enabled {
            guard let key = access.key(presentedIn: fields.authorization, remembered: &remembered),
                access.allows(key, .read, project: stream.project)
            else { return nil }
        }
        if let cached, reader.answersAgain(cached.fresh, minPosition: minPosition) {
            cached.date(date, second: dateSecond)
            return cached
        }
        guard let fresh = reader.freshToken(of: stream, minPosition: minPosition) else { return nil }
        let answer = EncodedAnswer(fresh, serverName: serverName, date: date, second: dateSecond)
        // A connection reads few streams; one that reads many keeps the latest ones.
        if answers.count >= Self.maxAnswers { answers.removeAll(keepingCapacity: true) }
        answers[path] = answer
        return answer
    }

    static let prefix = "/token/"
    static let maxAnswers = 64

    /// The stream of `/token/{project}/{platform}/{appid}`, exactly that shape (no query, no
    /// trailing or doubled slash, only the characters a stream id allows), or nil.
    static func stream(inPath path: String) -> StreamID? {
        guard path.utf8.starts(with: prefix.utf8) else { return nil }
        let segments = path.utf8.dropFirst(prefix.utf8.count).split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard segments.count == 3 else { return nil }
        return try? StreamID(
            project: String(decoding: segments[0], as: UTF8.self),
            platform: String(decoding: segments[1], as: UTF8.self),
            appid: String(decoding: segments[2], as: UTF8.self)
        )
    }
}

/// The request metrics Hummingbird's `MetricsMiddleware` records for one route, method and
/// status: the same labels, hence the same series.
struct RouteMetrics: Sendable {
    let requests: Counter
    let duration: Timer

    init(route: String, method: HTTPRequest.Method, status: HTTPResponse.Status) {
        let dimensions = [("http.route", route), ("http.request.method", method.description), ("http.response.status_code", status.code.description)]
        requests = Counter(label: "hb.requests", dimensions: dimensions)
        duration = Timer(label: "http.server.request.duration", dimensions: dimensions, preferredDisplayUnit: .seconds)
    }

    /// A request answered, `start` its `DispatchTime` uptime.
    func record(since start: UInt64) {
        requests.increment()
        duration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
    }
}
