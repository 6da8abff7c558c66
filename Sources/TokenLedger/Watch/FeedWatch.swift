import Synchronization

/// One watcher of a `ProjectionFeed`: the events after its cursor, batch by batch, as this
/// replica's projector folds them (or from the log, when the watcher is further behind than the
/// feed holds). Used by one task at a time; `stop()` may be called from any.
public final class FeedWatch: Sendable {
    private let feed: ProjectionFeed
    private let log: any EventLog
    private let matching: @Sendable (RecordedEvent) -> Bool
    private let wakeUps: WakeSubscription
    private let cursorValue: Atomic<Int64>
    private let stopped = Atomic<Bool>(false)
    /// Events read at once, from the feed or the log.
    static let pageSize = 1000

    init(feed: ProjectionFeed, log: any EventLog, cursor: Int64, matching: @escaping @Sendable (RecordedEvent) -> Bool) {
        self.feed = feed
        self.log = log
        self.matching = matching
        // Subscribed before the first look at the feed, so that nothing published after it is missed.
        self.wakeUps = feed.wakes.subscribe()
        self.cursorValue = Atomic(cursor)
    }

    deinit {
        wakeUps.cancel()
        feed.release()
    }

    /// The position of the last event looked at: every event up to it was delivered or did not match.
    public var cursor: Int64 { cursorValue.load(ordering: .relaxed) }

    /// Whether `stop()` was called.
    public var isStopped: Bool { stopped.load(ordering: .acquiring) }

    /// The next events after the cursor that match, oldest first, waiting for them at most
    /// `timeout`: empty when the time ran out first, nil once the watch is stopped.
    public func next(within timeout: Duration) async throws -> [RecordedEvent]? {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while !isStopped {
            let cursor = self.cursor
            let page: [RecordedEvent]
            if let held = feed.events(after: cursor, limit: Self.pageSize) {
                page = held
            } else {
                page = try await log.readAll(after: cursor, limit: Self.pageSize)
            }
            if let last = page.last {
                cursorValue.store(last.position, ordering: .relaxed)
                let found = page.filter(matching)
                if !found.isEmpty { return found }
                continue
            }
            let left = clock.now.duration(to: deadline)
            guard left > .zero else { return [] }
            await wakeUps.next(timeout: left)
        }
        return nil
    }

    /// Ends the watch: a waiting `next` returns nil at once, and so does every later one.
    public func stop() {
        stopped.store(true, ordering: .releasing)
        wakeUps.cancel()
    }
}
