import HTTPTypes
import Hummingbird
import LedgerTestSupport
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing
@testable import TokenHTTP
import TokenLedger

/// The fast path's handler in a pipeline of its own: what it answers, what it hands on, and that
/// answers keep the order of the requests.
struct TokenFastPathHandlerTests {
    let path = "/token/demo/wechat/wxapp"

    /// A fixture whose app is registered with a token, and a channel with the handler alone.
    func channel() async throws -> (HTTPFixture, EmbeddedChannel) {
        let fixture = try HTTPFixture()
        let stream = try StreamID(project: "demo", platform: "wechat", appid: "wxapp")
        _ = try await fixture.ledger.ledger.reader.token(for: stream, secret: "S", context: CallContext())
        let fastPath = TokenFastPath(fixture.controller, serverName: "tokenledger", requestMetrics: false)
        return (fixture, EmbeddedChannel(handler: TokenFastPathHandler(fastPath)))
    }

    func request(_ path: String, method: HTTPRequest.Method = .get, headers: HTTPFields = [:]) -> HTTPRequestPart {
        .head(HTTPRequest(method: method, scheme: nil, authority: "localhost", path: path, headerFields: headers))
    }

    /// The parts the handler handed on to the router.
    func routed(_ channel: EmbeddedChannel) throws -> [String] {
        var parts: [String] = []
        while let part = try channel.readInbound(as: HTTPRequestPart.self) {
            switch part {
            case .head(let head): parts.append("head \(head.method) \(head.path ?? "")")
            case .body: parts.append("body")
            case .end: parts.append("end")
            }
        }
        return parts
    }

    /// The answers the handler wrote, as status and body.
    func answered(_ channel: EmbeddedChannel) throws -> [String] {
        var answers: [String] = []
        while let part = try channel.readOutbound(as: HTTPResponsePart.self) {
            switch part {
            case .head(let head): answers.append("\(head.status.code)")
            case .body(let body): answers[answers.count - 1] += " " + String(buffer: body)
            case .end: break
            }
        }
        return answers
    }

    @Test func aReadIsAnsweredAndAnythingElseHandedOn() async throws {
        let (fixture, channel) = try await channel()
        let token = try #require(fixture.platform.current)
        try channel.writeInbound(request(path))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(try answered(channel) == [#"200 {"code":200,"data":"\#(token)","error":""}"#])
        #expect(try routed(channel).isEmpty)
        // A query, a secret, another method, another route: the router's.
        let others: [HTTPRequestPart] = [
            request(path + "?secret=S"), request(path, headers: [HTTPField.Name("X-App-Secret")!: "S"]), request(path, method: .put),
            request(path + "/status"), request(path + "/"), request("/token/demo/wechat"), request(path, headers: [.connection: "close"]),
            request(path, headers: [HTTPField.Name("X-Ledger-Min-Position")!: "-1"]),
        ]
        for head in others {
            try channel.writeInbound(head)
            try channel.writeInbound(HTTPRequestPart.end(nil))
            let parts = try routed(channel)
            #expect(parts.count == 2 && parts.last == "end", "\(parts)")
            #expect(try answered(channel).isEmpty)
            // The router answers it.
            try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
            try channel.writeOutbound(HTTPResponsePart.end(nil))
            _ = try answered(channel)
        }
        // A read with a body goes on whole, its head first.
        try channel.writeInbound(request(path))
        try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: "x")))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(try routed(channel) == ["head GET \(path)", "body", "end"])
    }

    @Test func aReadBehindARoutedRequestWaitsForItsAnswer() async throws {
        let (_, channel) = try await channel()
        // Pipelined: a refresh for the router, then a read, before the refresh is answered.
        try channel.writeInbound(request(path, method: .put))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        try channel.writeInbound(request(path))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(try routed(channel) == ["head PUT \(path)", "end", "head GET \(path)", "end"])
        #expect(try answered(channel).isEmpty, "answering the read first would swap the answers")
        for _ in 0..<2 {
            try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
            try channel.writeOutbound(HTTPResponsePart.end(nil))
        }
        #expect(try answered(channel) == ["200", "200"])
        // Both answered: the next read is the handler's again.
        try channel.writeInbound(request(path))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(try routed(channel).isEmpty)
        #expect(try answered(channel).count == 1)
    }

    @Test func theDateHeaderIsAnIMFFixdate() {
        #expect(HTTPDate.format(secondsSince1970: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(secondsSince1970: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(secondsSince1970: 951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
        #expect(HTTPDate.format(secondsSince1970: 1_798_761_599) == "Thu, 31 Dec 2026 23:59:59 GMT")
    }
}
