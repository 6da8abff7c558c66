/// Bounds of the watch routes (`GET /token/…/watch`, `GET /events/watch`): `watch.*`.
public struct WatchOptions: Sendable, Equatable {
    /// `watch.heartbeat_ms` (default 15000): a comment line is sent after this long without a
    /// message, so that proxies keep the connection and a vanished client is noticed.
    public var heartbeat = Duration.seconds(15)
    /// `watch.max_watchers` (default 1000): watches open at once on this replica; past it a new
    /// one is answered 503 `too_many_watchers`.
    public var maxWatchers = 1000
    /// `watch.max_seconds` (default 3600; 0: none): the longest a watch stays open. It then ends
    /// cleanly and the client reconnects with `Last-Event-ID`, losing nothing; a caller may ask
    /// for less with `?timeout=`.
    public var maxDuration: Duration? = .seconds(3600)

    /// The defaults.
    public init() {}
}
