extension TokenReader {
    /// Opens a watch of `stream` (`GET /token/…/watch`). Without `lastEventID`, first the token
    /// `token(for:)` serves (fetched if needed, with the same errors), then the events after it;
    /// with one, the events after that position and no first token (the caller had it). Past
    /// `maxWatchers` open on this replica: `.tooManyWatchers`.
    public func watch(
        _ stream: StreamID, after lastEventID: Int64?, maxWatchers: Int, context: CallContext
    ) async throws -> (current: ServedToken?, watch: FeedWatch) {
        try refresher.platform(of: stream)
        var current: ServedToken?
        if lastEventID == nil { current = try await token(for: stream, secret: nil, context: context) }
        let cursor = lastEventID ?? current?.position ?? projector.model.checkpoint
        let watch = try projector.feed.watch(after: cursor, log: projector.log, maxWatchers: maxWatchers) { $0.stream == stream }
        return (current, watch)
    }
}
