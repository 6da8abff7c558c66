import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// `TokenFastPath` on one connection: sits after Hummingbird's connection state handler (which
/// sees every request and answer, so idle and shutdown handling are unchanged) and before the
/// router's async channel. A read it can answer is answered here, on the event loop; every other
/// request passes through untouched.
final class TokenFastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        /// Between requests.
        case idle
        /// A read this handler may answer: its head, held until its end (a body sends it on).
        case holding(HTTPRequest, start: UInt64)
        /// The current request is the router's.
        case routing
    }

    private let fastPath: TokenFastPath
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

    init(_ fastPath: TokenFastPath) {
        self.fastPath = fastPath
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch (part, state) {
        case (.head(let head), .idle) where routed == 0 && fastPath.mayAnswer(head):
            state = .holding(head, start: DispatchTime.now().uptimeNanoseconds)
        case (.head, _):
            routed += 1
            state = .routing
            context.fireChannelRead(data)
        case (.body, .holding(let head, _)):
            route(head, context: context)
            context.fireChannelRead(data)
        case (.end, .holding(let head, let start)):
            state = .idle
            let date = currentDate()
            if let answer = fastPath.answer(head, answers: &answers, remembered: &remembered, dateSecond: date.second, date: date.text) {
                context.write(wrapOutboundOut(.head(answer.head)), promise: nil)
                context.write(wrapOutboundOut(.body(answer.body)), promise: nil)
                context.write(wrapOutboundOut(.end(nil)), promise: nil)
                unflushed = true
                fastPath.metrics?.record(since: start)
            } else {
                route(head, context: context)
                context.fireChannelRead(data)
                state = .idle
            }
        case (.end, _):
            state = .idle
            context.fireChannelRead(data)
        case (.body, _):
            context.fireChannelRead(data)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if unflushed {
            unflushed = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), routed > 0 { routed -= 1 }
        context.write(data, promise: promise)
    }

    /// Hands a held head to the router.
    private func route(_ head: HTTPRequest, context: ChannelHandlerContext) {
        routed += 1
        state = .routing
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    /// The `Date` header of this second, formatted when the second changes.
    private func currentDate() -> (second: Int64, text: String) {
        let second = Int64(Date().timeIntervalSince1970.rounded(.down))
        if second != date.second { date = (second, HTTPDate.format(secondsSince1970: second)) }
        return date
    }
}
