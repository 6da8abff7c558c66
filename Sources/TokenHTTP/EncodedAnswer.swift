import HTTPTypes
import NIOCore
import TokenLedger

/// One stream's answer to a read, encoded once per token for one connection (its `Date` header
/// once a second): the bytes the router's answer puts on the wire, byte for byte — the status line
/// and headers as `HTTP1ToHTTPServerCodec` and NIO's `HTTPResponseEncoder` write them, with the
/// headers Hummingbird adds, then the envelope — in one buffer.
final class EncodedAnswer {
    /// The read it answers, and until when.
    let fresh: FreshToken
    /// The whole answer, as written to the socket.
    private(set) var bytes: ByteBuffer
    /// Where the `Date` header's value starts in `bytes`, and its second.
    private let dateIndex: Int
    private var second: Int64

    init(_ fresh: FreshToken, serverName: String?, date: String, second: Int64) {
        let (headers, body) = TokenController.tokenAnswer(fresh.served)
        var fields = headers
        // What Hummingbird adds to every answer, in its order: Content-Length (`Response`), then
        // Date and Server (`Application`).
        fields[.contentLength] = String(describing: body.readableBytes)
        fields[.date] = date
        if let serverName { fields[.server] = serverName }
        // As the encoder writes an `HTTPResponseHead` converted from `HTTPResponse` (raw names,
        // `name: value` lines; Content-Length given, so no Transfer-Encoding), then the body.
        var bytes = ByteBuffer()
        bytes.writeStaticString("HTTP/1.1 200 OK\r\n")
        var dateIndex = 0
        for field in fields {
            bytes.writeString(field.name.rawName)
            bytes.writeStaticString(": ")
            if field.name == .date { dateIndex = bytes.writerIndex }
            bytes.writeString(field.value)
            bytes.writeStaticString("\r\n")
        }
        bytes.writeStaticString("\r\n")
        bytes.writeImmutableBuffer(body)
        self.fresh = fresh
        self.bytes = bytes
        self.dateIndex = dateIndex
        self.second = second
    }

    /// Sets the `Date` header of `second`, in place (an IMF-fixdate is always 29 bytes).
    func date(_ date: String, second: Int64) {
        guard second != self.second else { return }
        assert(date.utf8.count == 29)
        self.second = second
        bytes.setString(date, at: dateIndex)
    }
}
