import NIOCore

/// A place in a connection's pipeline that `TokenFastPathHandler` reads and writes from: it passes
/// everything on, except what reaches it while `discarding`, and reads into the handler after it
/// or writes toward the handler before it from its own place. At the head of the pipeline (below
/// NIO's HTTP/1 encoder, `PipelineTap<ByteBuffer, IOData>`) it is where the fast path writes its
/// encoded answers; around Hummingbird's connection state handler, see `ConnectionStateRelay`.
final class PipelineTap<InboundIn, OutboundIn>: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundOut = InboundIn
    typealias OutboundOut = OutboundIn

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

    /// Drops what reaches this place during `body`.
    func discarding(_ body: () -> Void) {
        isDiscarding = true
        body()
        isDiscarding = false
    }

    /// Reads `part` into the handler after this place.
    func fireChannelRead(_ part: InboundIn) {
        context?.fireChannelRead(wrapInboundOut(part))
    }

    /// Writes `part` (unflushed) toward the handler before this place.
    func write(_ part: OutboundIn) {
        context?.write(wrapOutboundOut(part), promise: nil)
    }
}
