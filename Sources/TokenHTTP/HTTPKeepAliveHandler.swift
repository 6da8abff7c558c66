import NIOCore
import NIOHTTP1

/// Closes a connection after answering a request that does not keep it alive: HTTP/1.0 without
/// `Connection: keep-alive`, or `Connection: close` in either version (RFC 9112 §9.3). Such an
/// answer says `Connection: close`. Hummingbird's HTTPTypes pipeline drops the request's version,
/// so without this an HTTP/1.0 client (ApacheBench, some health checks and proxies) waits for a
/// close that never comes.
///
/// Sits after the fast path (which answers only HTTP/1.1 requests that keep the connection) and
/// before the HTTPTypes conversion, where a request head still has its version: it sees the
/// requests the router answers, and their answers, which leave in the order of the requests, so
/// each one is matched with the oldest request not yet answered.
final class HTTPKeepAliveHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Whether each request not yet answered keeps the connection alive, oldest first.
    private var keepAlive = CircularBuffer<Bool>()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) { keepAlive.append(head.isKeepAlive) }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where keepAlive.first == false && head.status.code >= 200:
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where !(keepAlive.popFirst() ?? true):
            let written = promise ?? context.eventLoop.makePromise()
            context.write(data, promise: written)
            written.futureResult.whenComplete { _ in context.close(promise: nil) }
        default:
            context.write(data, promise: promise)
        }
    }
}
