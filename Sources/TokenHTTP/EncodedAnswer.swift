import HTTPTypes
import NIOCore
import TokenLedger

/// One stream's answer to a read, encoded once per token for one connection (its `Date` header
/// once a second): what the router answers, byte for byte, with the headers Hummingbird adds.
final class EncodedAnswer {
    /// The read it answers, and until when.
    let fresh: FreshToken
    /// The envelope.
    let body: ByteBuffer
    /// Status and headers.
    private(set) var head: HTTPResponse
    /// The second of the `Date` header in `head`.
    private var second: Int64

    init(_ fresh: FreshToken, serverName: String?, date: String, second: Int64) {
        let (headers, body) = TokenController.tokenAnswer(fresh.served)
        var fields = headers
        // What Hummingbird adds to every answer, in its order: Content-Length (`Response`), then
        // Date and Server (`Application`).
        fields[.contentLength] = String(describing: body.readableBytes)
        fields[.date] = date
        if let serverName { fields[.server] = serverName }
        self.fresh = fresh
        self.body = body
        self.head = HTTPResponse(status: .ok, headerFields: fields)
        self.second = second
    }

    /// Sets the `Date` header of `second` (in place: the headers keep their order).
    func date(_ date: String, second: Int64) {
        guard second != self.second else { return }
        self.second = second
        head.headerFields[.date] = date
    }
}
