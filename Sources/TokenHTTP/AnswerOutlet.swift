import NIOCore

/// The head of a connection's pipeline, below NIO's HTTP/1 encoder: where `TokenFastPathHandler`
/// writes its encoded answers as bytes, and drops the encoder's output for the heads it passes the
/// encoder only to keep its count of requests (see `TokenFastPathHandler`).
final class AnswerOutlet: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private var context: ChannelHandlerContext?
    private var isDiscarding = false

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if isDiscarding {
            promise?.succeed(())
            return
        }
        context.write(data, promise: promise)
    }

    /// Writes `bytes` toward the socket (unflushed).
    func write(_ bytes: ByteBuffer) {
        context?.write(wrapOutboundOut(.byteBuffer(bytes)), promise: nil)
    }

    /// Drops what the encoder writes during `body`.
    func discarding(_ body: () -> Void) {
        isDiscarding = true
        body()
        isDiscarding = false
    }
}
