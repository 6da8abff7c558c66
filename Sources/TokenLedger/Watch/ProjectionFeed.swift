import Metrics
import Synchronization

/// Where watchers learn what the memory projector folds: the most recent events it applied, in
/// position order, and one wake-up per catch-up that applied any.
///
/// A watcher costs no query of the log while it keeps up: it reads the events after its cursor
/// from this buffer. Only a watcher further behind than the buffer reaches (a resume from an old
/// `Last-Event-ID`, a watcher slower than `capacity` events) reads the log, with `readAll`.
public final class ProjectionFeed: Sendable {
    private struct Recent {
        /// The events applied last, oldest first, every one after `coveredAfter`.
        var events: [RecordedEvent] = []
        /// Every event above this position up to `head` is in `events` (none is missing).
        var coveredAfter: Int64 = 0
        /// The position of the last event applied.
        var head: Int64 = 0
        /// Watchers open on this replica.
        var watchers = 0
    }

    private let recent = Mutex(Recent())
    /// How many of the latest events are held (a bound on memory, not on what a watcher can resume from).
    public let capacity: Int
    let wakes = WakeSignal()
    /// `tokenledger_watchers`: watches open on this replica.
    private let openWatchers = Gauge(label: "tokenledger_watchers")
    /// `tokenledger_watch_refusals_total`: watches refused past `watch.max_watchers`.
    private let refusals = Counter(label: "tokenledger_watch_refusals_total")

    /// A feed that holds the latest `capacity` events.
    public init(capacity: Int = 4096) {
        self.capacity = max(1, capacity)
    }

    /// The position of the last event published.
    public var head: Int64 { recent.withLock { $0.head } }

    /// Watchers open now.
    public var watchers: Int { recent.withLock { $0.watchers } }

    /// Records `events`, just applied by the projector after position `previous` (its checkpoint
    /// before them), and wakes every watcher. Called under the projector's lock, so in log order.
    func publish(_ events: [RecordedEvent], after previous: Int64) {
        guard let last = events.last else { return }
        recent.withLock { recent in
            // The projector applies everything after its checkpoint: the buffer stays gapless
            // unless it was handed a page that does not follow the last one.
            if previous != recent.head {
                recent.events.removeAll(keepingCapacity: true)
                recent.coveredAfter = previous
            }
            recent.events.append(contentsOf: events)
            if recent.events.count > capacity {
                let dropped = recent.events.count - capacity
                recent.coveredAfter = recent.events[dropped - 1].position
                recent.events.removeFirst(dropped)
            }
            recent.head = last.position
        }
        wakes.signal()
    }

    /// Starts the feed at `position` (the model restored from a snapshot there): watchers behind
    /// it read the log.
    func restart(at position: Int64) {
        recent.withLock { recent in
            recent.events.removeAll()
            recent.coveredAfter = position
            recent.head = position
        }
    }

    /// Up to `limit` events after `cursor` from the buffer: empty when the feed has nothing after
    /// it yet, nil when the buffer no longer reaches back to it (read the log instead).
    func events(after cursor: Int64, limit: Int) -> [RecordedEvent]? {
        recent.withLock { recent in
            guard cursor < recent.head else { return [] }
            guard cursor >= recent.coveredAfter else { return nil }
            // Binary search for the first event past the cursor.
            var low = 0
            var high = recent.events.count
            while low < high {
                let middle = (low + high) / 2
                if recent.events[middle].position <= cursor { low = middle + 1 } else { high = middle }
            }
            return Array(recent.events[low..<min(recent.events.count, low + limit)])
        }
    }

    /// Opens a watch of the events after `cursor` that `matching` accepts, reading `log` when the
    /// buffer does not reach back far enough. Throws `.tooManyWatchers` when `maxWatchers` are
    /// already open on this replica; the watch's slot is freed when it is released.
    public func watch(
        after cursor: Int64, log: any EventLog, maxWatchers: Int, matching: @escaping @Sendable (RecordedEvent) -> Bool = { _ in true }
    ) throws -> FeedWatch {
        let open = recent.withLock { recent -> Int? in
            guard recent.watchers < maxWatchers else { return nil }
            recent.watchers += 1
            return recent.watchers
        }
        guard let open else {
            refusals.increment()
            throw LedgerError(.tooManyWatchers, "this replica already serves \(maxWatchers) watchers (watch.max_watchers): retry later or on another replica")
        }
        openWatchers.record(open)
        return FeedWatch(feed: self, log: log, cursor: cursor, matching: matching)
    }

    func release() {
        openWatchers.record(recent.withLock { recent in
            recent.watchers -= 1
            return recent.watchers
        })
    }
}
