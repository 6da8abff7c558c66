import HTTPTypes
import Hummingbird
import HummingbirdCore
import LedgerTestSupport
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import Testing
@testable import TokenHTTP
import TokenLedger

/// The fast path's handlers in the pipeline Hummingbird's `HTTP1Channel` sets up, bytes in and
/// out: what they answer, what they hand on, that answers keep the order of the requests, and that
/// the connection state handler still sees every request.
struct TokenFastPathHandlerTests {
    let path = "/token/demo/wechat/wxapp"

    /// A fixture whose app is registered with a token, and a connected channel with the pipeline of
    /// `HTTP1Channel.setup` (without its async channel: what reaches the router stays inbound).
    func channel(idleTimeout: Duration? = nil) async throws -> (HTTPFixture, EmbeddedChannel) {
        let fixture = try HTTPFixture()
        let stream = try StreamID(project: "demo", platform: "wechat", appid: "wxapp")
        _ = try await fixture.ledger.ledger.reader.token(for: stream, secret: "S", context: CallContext())
        let fastPath = TokenFastPath(fixture.controller, serverName: "tokenledger", requestMetrics: false)
        let channel = EmbeddedChannel()
        let operations = channel.pipeline.syncOperations
        try operations.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false)
        try operations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        try operations.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: Logger(label: "test")))
        try FastPathHTTP1Channel.addFastPath(fastPath, to: operations, idleTimeout: idleTimeout != nil)
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 80)).get()
        return (fixture, channel)
    }

    func request(_ path: String, method: String = "GET", version: String = "HTTP/1.1", headers: [String] = []) -> String {
        "\(method) \(path) \(version)\r\nHost: localhost\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n"
    }

    func send(_ channel: EmbeddedChannel, _ text: String) throws {
        try channel.writeInbound(ByteBuffer(string: text))
    }

    /// The parts handed on to the router.
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

    /// The router's answer to the request it was handed.
    func answerAsTheRouter(_ channel: EmbeddedChannel, _ response: HTTPResponse = HTTPResponse(status: .ok, headerFields: [.contentLength: "0"])) throws {
        try channel.writeOutbound(HTTPResponsePart.head(response))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
    }

    /// What went out on the wire.
    func written(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    @Test func aReadIsAnsweredAndAnythingElseHandedOn() async throws {
        let (fixture, channel) = try await channel()
        let token = try #require(fixture.platform.current)
        try send(channel, request(path))
        let answer = try written(channel)
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n") && answer.hasSuffix(#"\#r\#n\#r\#n{"code":200,"data":"\#(token)","error":""}"#), "\(answer)")
        #expect(try routed(channel).isEmpty)
        // A query, a secret, another method, another route, HTTP/1.0, a closing connection, a
        // header sent twice: the router's.
        let others = [
            request(path + "?secret=S"), request(path, headers: ["X-App-Secret: S"]), request(path, method: "PUT"), request(path, method: "HEAD"),
            request(path + "/status"), request(path + "/"), request("/token/demo/wechat"), request(path, headers: ["Connection: close"]),
            request(path, version: "HTTP/1.0"), request(path, headers: ["X-Ledger-Min-Position: -1"]),
            request(path, headers: ["Authorization: Bearer a", "authorization: Bearer b"]),
        ]
        for text in others {
            // A channel each: NIO's decoder takes nothing after a closing request.
            let (_, channel) = try await self.channel()
            try send(channel, text)
            let parts = try routed(channel)
            #expect(parts.count == 2 && parts.last == "end", "\(text): \(parts)")
            #expect(try written(channel).isEmpty)
            try answerAsTheRouter(channel)
            #expect(try written(channel).hasPrefix("HTTP/1.1 200 OK\r\n"))
        }
        // A read with a body goes on whole, its head first.
        try send(channel, request(path, headers: ["Content-Length: 1"]) + "x")
        #expect(try routed(channel) == ["head GET \(path)", "body", "end"])
    }

    @Test func aReadBehindARoutedRequestWaitsForItsAnswer() async throws {
        let (_, channel) = try await channel()
        // Pipelined: a refresh for the router, then a read, before the refresh is answered.
        try send(channel, request(path, method: "PUT") + request(path))
        #expect(try routed(channel) == ["head PUT \(path)", "end", "head GET \(path)", "end"])
        #expect(try written(channel).isEmpty, "answering the read first would swap the answers")
        try answerAsTheRouter(channel, HTTPResponse(status: .accepted, headerFields: [.contentLength: "0"]))
        try answerAsTheRouter(channel)
        #expect(try written(channel) == "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        // Both answered: the next read is the handler's again.
        try send(channel, request(path))
        #expect(try routed(channel).isEmpty)
        #expect(try written(channel).hasPrefix("HTTP/1.1 200 OK\r\nX-Ledger-Position: "))
    }

    @Test func theEncoderStillKnowsWhichAnswerIsAHead() async throws {
        let (_, channel) = try await channel()
        // NIO's encoder leaves the body (and a chunked end) out of the answer to a HEAD by the
        // methods its decoder parsed: the reads answered beside it must not shift them.
        try send(channel, request(path) + request(path))
        _ = try written(channel)
        try send(channel, request(path, method: "HEAD"))
        #expect(try routed(channel) == ["head HEAD \(path)", "end"])
        try answerAsTheRouter(channel, HTTPResponse(status: .ok))
        #expect(try written(channel) == "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", "no chunked end after a HEAD's answer")
        try send(channel, request(path, method: "PUT"))
        _ = try routed(channel)
        try answerAsTheRouter(channel, HTTPResponse(status: .ok))
        #expect(try written(channel) == "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n")
    }

    @Test(arguments: [nil, Duration.seconds(60)])
    func aQuiescingConnectionClosesAfterItsAnswers(idleTimeout: Duration?) async throws {
        // Between requests: closed at once.
        var (_, channel) = try await channel(idleTimeout: idleTimeout)
        try send(channel, request(path))
        #expect(try written(channel).hasPrefix("HTTP/1.1 200 OK"))
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!channel.isActive)
        // With a read's head held (a chunked request whose end has not come): closed after its answer.
        (_, channel) = try await self.channel(idleTimeout: idleTimeout)
        try send(channel, request(path, headers: ["Transfer-Encoding: chunked"]) + "0\r\n")
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(channel.isActive, "the head of a request is read: it is answered first")
        try send(channel, "\r\n")
        #expect(try written(channel).hasPrefix("HTTP/1.1 200 OK"))
        #expect(!channel.isActive)
        // With a read's head held and then a body, which sends it to the router: closed after the
        // router's answer.
        (_, channel) = try await self.channel(idleTimeout: idleTimeout)
        try send(channel, request(path, headers: ["Transfer-Encoding: chunked"]))
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        try send(channel, "1\r\nx\r\n0\r\n\r\n")
        #expect(try routed(channel) == ["head GET \(path)", "body", "end"])
        #expect(channel.isActive)
        try answerAsTheRouter(channel)
        #expect(!channel.isActive)
        // With the router's answer in flight: closed after it, the read behind it answered too.
        (_, channel) = try await self.channel(idleTimeout: idleTimeout)
        try send(channel, request(path, method: "PUT") + request(path))
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(channel.isActive)
        #expect(try routed(channel).count == 4)
        try answerAsTheRouter(channel)
        #expect(channel.isActive)
        try answerAsTheRouter(channel)
        #expect(!channel.isActive)
    }

    @Test func readsAnsweredHereKeepAConnectionFromIdling() async throws {
        let (_, channel) = try await channel(idleTimeout: .milliseconds(500))
        try await Task.sleep(for: .milliseconds(600))
        try send(channel, request(path))
        #expect(try written(channel).hasPrefix("HTTP/1.1 200 OK"))
        // The idle timer fires: the read just answered counts as activity.
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(600))
        #expect(channel.isActive)
        try await Task.sleep(for: .milliseconds(600))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(600))
        #expect(!channel.isActive)
    }

    @Test func theDateHeaderIsAnIMFFixdate() {
        #expect(HTTPDate.format(secondsSince1970: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(secondsSince1970: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(secondsSince1970: 951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
        #expect(HTTPDate.format(secondsSince1970: 1_798_761_599) == "Thu, 31 Dec 2026 23:59:59 GMT")
    }
}
