import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import NIOHTTP1

/// `TokenFastPath` on one connection. It reads the request parts NIO's decoder parses, before
/// `HTTP1ToHTTPServerCodec` converts them for Hummingbird: a read it can answer builds no
/// `HTTPRequest` and is answered here, on the event loop, its encoded bytes written toward the
/// socket below NIO's encoder (from a `PipelineTap` at the pipeline's head); every other request
/// goes on to the codec and the router untouched, and their answers come back through it.
///
/// Answers keep the order of the requests: while the router has a request to answer, later ones
/// go to the router too. Hummingbird's connection state handler (idle timeout, quiescing) sits
/// after the codec and sees none of the reads answered here. A read is answered within the
/// channel read that brings its end, so between two events the requests it counts are still all
/// there are, except while a read's head is held: a quiesce that arrives then waits for its
/// answer. With an idle timeout, `ConnectionStateRelay` lets it see each read answered here as a
/// request and its answer, so that a connection busy with them is not idle.
final class TokenFastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        /// Between requests.
        case idle
        /// A read this handler may answer: its head, held until its end (a body sends it on).
        case holding(HTTPRequestHead, start: UInt64)
        /// The current request is the router's.
        case routing
    }

    private let fastPath: TokenFastPath
    /// At the head of the pipeline, below NIO's encoder.
    private let outlet: PipelineTap<ByteBuffer, IOData>
    private let connectionState: ConnectionStateRelay?
    private var state = State.idle
    /// Requests handed to the router whose answer is not written yet. While there is one, later
    /// requests of the connection go to the router too: answers keep the order of the requests.
    private var routed = 0
    /// This connection's answers, by path.
    private var answers: [String: EncodedAnswer] = [:]
    /// The key this connection presented last.
    private var remembered: AccessControl.RememberedKey?
    /// The `Date` header of the current second.
    private var date = (second: Int64.min, text: "")
    private var unflushed = false
    /// A quiesce that arrived while a read's head was held: passed on once the read is answered or
    /// handed to the router.
    private var quiesce: Any?
    /// NIO's encoder keeps the method of every request its decoder parsed, to leave the body out
    /// of a `HEAD`'s answer, and takes one per answer head: each read answered here gives it a
    /// head that `outlet` discards, so that the router's answers meet their own requests' methods.
    private let skippedHead: NIOAny
    private let skippedEnd: NIOAny

    init(_ fastPath: TokenFastPath, outlet: PipelineTap<ByteBuffer, IOData>, connectionState: ConnectionStateRelay?) {
        self.fastPath = fastPath
        self.outlet = outlet
        self.connectionState = connectionState
        skippedHead = NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .noContent)))
        skippedEnd = NIOAny(HTTPServerResponsePart.end(nil))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle) where routed == 0 && fastPath.mayAnswer(head):
            state = .holding(head, start: DispatchTime.now().uptimeNanoseconds)
        case (.head, _):
            routed += 1
            state = .routing
            context.fireChannelRead(data)
        case (.body, .holding(let head, _)):
            route(head, context: context)
            context.fireChannelRead(data)
            passOnQuiesce(context: context)
        case (.end, .holding(let head, let start)):
            state = .idle
            let date = currentDate()
            if let answer = fastPath.answer(head, answers: &answers, remembered: &remembered, dateSecond: date.second, date: date.text) {
                connectionState?.requestRead()
                outlet.discarding {
                    context.write(skippedHead, promise: nil)
                    context.write(skippedEnd, promise: nil)
                }
                outlet.write(.byteBuffer(answer.bytes))
                unflushed = true
                connectionState?.answerWritten()
                fastPath.metrics?.record(since: start)
            } else {
                route(head, context: context)
                context.fireChannelRead(data)
                state = .idle
            }
            passOnQuiesce(context: context)
        case (.end, _):
            state = .idle
            context.fireChannelRead(data)
        case (.body, _):
            context.fireChannelRead(data)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushAnswers(context: context)
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, case .holding = state {
            quiesce = event
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), routed > 0 { routed -= 1 }
        context.write(data, promise: promise)
    }

    /// Hands a held head to the router.
    private func route(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        routed += 1
        state = .routing
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    /// Passes on a quiesce held back while a head was (the answers written so far flushed first: the
    /// connection state handler may close the connection at once).
    private func passOnQuiesce(context: ChannelHandlerContext) {
        guard let quiesce else { return }
        self.quiesce = nil
        flushAnswers(context: context)
        context.fireUserInboundEventTriggered(quiesce)
    }

    private func flushAnswers(context: ChannelHandlerContext) {
        guard unflushed else { return }
        unflushed = false
        context.flush()
    }

    /// The `Date` header of this second, formatted when the second changes.
    private func currentDate() -> (second: Int64, text: String) {
        let second = Int64(Date().timeIntervalSince1970.rounded(.down))
        if second != date.second { date = (second, HTTPDate.format(secondsSince1970: second)) }
        return date
    }
}
