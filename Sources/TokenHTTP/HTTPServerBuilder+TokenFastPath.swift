public import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypesHTTP1

extension HTTPServerBuilder {
    /// HTTP/1 as Hummingbird serves it (`http1(configuration:)`), with `fastPath` answering the
    /// token reads it can in every connection.
    public static func http1(fastPath: TokenFastPath, configuration: HTTP1Channel.Configuration = .init()) -> HTTPServerBuilder {
        .init { responder in
            FastPathHTTP1Channel(base: HTTP1Channel(responder: responder, configuration: configuration), fastPath: fastPath)
        }
    }
}

/// Hummingbird's `HTTP1Channel` with `TokenFastPathHandler` between NIO's HTTP/1 decoder and the
/// HTTPTypes codec, a `PipelineTap` for its answers at the head of the pipeline, with an idle timeout
/// `ConnectionStateRelay` around the connection state handler, and `HTTPKeepAliveHandler` between the
/// fast path and the codec (it sees the requests the router answers; the fast path answers only
/// HTTP/1.1 requests that keep the connection).
struct FastPathHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let base: HTTP1Channel
    let fastPath: TokenFastPath

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let idleTimeout = base.configuration.idleTimeout != nil
        return base.setup(channel: channel, logger: logger).flatMapThrowing { [fastPath] value in
            try Self.addFastPath(fastPath, to: channel.pipeline.syncOperations, idleTimeout: idleTimeout)
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }

    /// Adds `fastPath`'s handlers to a pipeline `HTTP1Channel` set up (`idleTimeout`: with one).
    static func addFastPath(_ fastPath: TokenFastPath, to pipeline: ChannelPipeline.SynchronousOperations, idleTimeout: Bool) throws {
        let outlet = PipelineTap<ByteBuffer, IOData>()
        let connectionState = idleTimeout ? ConnectionStateRelay() : nil
        try pipeline.addHandler(outlet, position: .first)
        let codec = try pipeline.handler(type: HTTP1ToHTTPServerCodec.self)
        try pipeline.addHandler(TokenFastPathHandler(fastPath, outlet: outlet, connectionState: connectionState), position: .before(codec))
        try pipeline.addHandler(HTTPKeepAliveHandler(), position: .before(codec))
        if let connectionState {
            let stateHandler = try pipeline.handler(type: HTTPConnectionStateHandler.self)
            try pipeline.addHandler(connectionState.before, position: .before(stateHandler))
            try pipeline.addHandler(connectionState.after, position: .after(stateHandler))
        }
    }
}
