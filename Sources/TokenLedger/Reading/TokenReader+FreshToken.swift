extension TokenReader {
    /// What `token(for: stream, secret: nil, context:)` answers from memory at this moment, when
    /// memory holds a fresh token of a live app and has applied the log up to `minPosition`; nil
    /// otherwise (`token(for:)` then decides, and may refresh). Counts a read answered from memory.
    public func freshToken(of stream: StreamID, minPosition: Int64 = 0) -> FreshToken? {
        // The checkpoint before the state: an event applied in between makes the answer look older
        // than it is (it is read again at the next request), never newer.
        let checkpoint = projector.model.checkpoint
        guard minPosition <= checkpoint, (try? refresher.platform(of: stream)) != nil,
            let token = freshInMemory(projector.model.state(of: stream), stream: stream, secret: nil, now: now())
        else { return nil }
        metrics.memoryHit()
        return FreshToken(stream: stream, served: ServedToken(token), staleAt: freshness.staleAt(token, platform: stream.platform), checkpoint: checkpoint)
    }

    /// Whether `token` is still what memory answers to a read that has seen `minPosition`: no event
    /// applied since it was read, and the token not past its freshness margin. Counts a read
    /// answered from memory when it is.
    public func answersAgain(_ token: FreshToken, minPosition: Int64 = 0) -> Bool {
        // `Freshness.isFresh` is `now < staleAt`: the same decision, against the bound it computed.
        guard projector.model.checkpoint == token.checkpoint, minPosition <= token.checkpoint, now() < token.staleAt else { return false }
        metrics.memoryHit()
        return true
    }
}
