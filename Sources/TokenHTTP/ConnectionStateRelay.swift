import HTTPTypes
import NIOHTTPTypes

/// Lets Hummingbird's `HTTPConnectionStateHandler` — idle timeout, closing after the answer in
/// flight when the server quiesces — see each read `TokenFastPathHandler` answers before the codec
/// as a request and its answer, so that its idle timeout counts them as activity: `before` and
/// `after`, placed on either side of it, pass it a request head and end and an answer's end,
/// which go no further (the router never sees them).
final class ConnectionStateRelay {
    typealias Tap = PipelineTap<HTTPRequestPart, HTTPResponsePart>

    /// Right before the connection state handler.
    let before = Tap()
    /// Right after it.
    let after = Tap()

    private static let head = HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/")

    /// A request read (its head and end).
    func requestRead() {
        after.discarding {
            before.fireChannelRead(.head(Self.head))
            before.fireChannelRead(.end(nil))
        }
    }

    /// Its answer written: the state handler may now schedule the idle timeout, or close the
    /// connection (flushing the answer first) when the server quiesced.
    func answerWritten() {
        before.discarding { after.write(.end(nil)) }
    }
}
