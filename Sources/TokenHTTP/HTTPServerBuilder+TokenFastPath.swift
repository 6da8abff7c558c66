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

/// Hummingbird's `HTTP1Channel` with `TokenFastPathHandler` placed right after its connection state
/// handler, before the async channel the router reads from, and `HTTPKeepAliveHandler` before its
/// HTTPTypes conversion.
struct FastPathHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let base: HTTP1Channel
    let fastPath: TokenFastPath

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { [fastPath] value in
            let operations = channel.pipeline.syncOperations
            let connectionState = try operations.handler(type: HTTPConnectionStateHandler.self)
            try operations.addHandler(TokenFastPathHandler(fastPath), position: .after(connectionState))
            let codec = try operations.handler(type: HTTP1ToHTTPServerCodec.self)
            try operations.addHandler(HTTPKeepAliveHandler(), position: .before(codec))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
