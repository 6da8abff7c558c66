import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Lets Hummingbird's `HTTPConnectionStateHandler` — idle timeout, closing after the answer in
/// flight when the server quiesces — see each read `TokenFastPathHandler` answers before the codec
/// as a request and its answer, so that its idle timeout counts them as activity: `before` and
/// `after`, placed on either side of it, pass it a request head and end and an answer's end,
/// which go no further (the router never sees them).
final class ConnectionStateRelay {
    /// Right before the connection state handler.
    let before = Side()
    /// Right after it.
    let after = Side()

    private let head = NIOAny(HTTPRequestPart.head(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/")))
    private let end = NIOAny(HTTPRequestPart.end(nil))
    private let answerEnd = NIOAny(HTTPResponsePart.end(nil))

    /// A request read (its head and end).
    func requestRead() {
        after.discarding {
            before.fireChannelRead(head)
            before.fireChannelRead(end)
        }
    }

    /// Its answer written: the state handler may now schedule the idle timeout, or close the
    /// connection (flushing the answer first) when the server quiesced.
    func answerWritten() {
        before.discarding { after.write(answerEnd) }
    }

    /// One side: passes everything on, except while `discarding`.
    final class Side: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        typealias InboundOut = HTTPRequestPart
        typealias OutboundIn = HTTPResponsePart
        typealias OutboundOut = HTTPResponsePart

        private var context: ChannelHandlerContext?
        private var isDiscarding = false

        func handlerAdded(context: ChannelHandlerContext) {
            self.context = context
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            self.context = nil
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !isDiscarding else { return }
            context.fireChannelRead(data)
        }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if isDiscarding {
                promise?.succeed(())
                return
            }
            context.write(data, promise: promise)
        }

        /// Drops what reaches this side during `body`.
        fileprivate func discarding(_ body: () -> Void) {
            isDiscarding = true
            body()
            isDiscarding = false
        }

        /// Reads `part` into the handler after this side.
        fileprivate func fireChannelRead(_ part: NIOAny) {
            context?.fireChannelRead(part)
        }

        /// Writes `part` into the handler before this side.
        fileprivate func write(_ part: NIOAny) {
            context?.write(part, promise: nil)
        }
    }
}
