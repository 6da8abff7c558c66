public import Logging
import Synchronization

/// Follows the log into a `MemoryReadModel`: catch-up from its checkpoint, then live on wake-ups
/// (NOTIFY) with a slow poll as a safety net, since a wake-up sent while disconnected is lost.
public final class Projector: Sendable {
    /// The model this projector writes.
    public let model: MemoryReadModel
    let log: any EventLog
    private let lock = AsyncLock()
    private let pageSize: Int
    private let pollInterval: Duration
    private let logger: Logger
    private let caughtUpOnce = Atomic<Bool>(false)
    /// Catch-ups asked for so far, and how many of them the last one that ran covers.
    private let asked = Atomic<Int64>(0)
    private let covered = Atomic<Int64>(0)
    /// The metrics of the memory model's projection.
    public let metrics = MemoryProjectionMetrics()
    /// Signalled whenever a catch-up applied events: the store projectors follow it.
    public let advanced = WakeSignal()
    /// The events as they are applied, for watchers (`GET …/watch`, `/events/watch`).
    public let feed: ProjectionFeed
    /// Where the first catch-up looks for a snapshot to start from (nil: snapshots are off, it
    /// replays the log).
    public let snapshots: (any MemorySnapshotStore)?
    /// Whether the newest snapshot was looked for (once: only an empty model starts from one).
    private let snapshotLookedFor = Atomic<Bool>(false)
    private let restoredPosition = Atomic<Int64>(0)

    /// Creates a projector; its feed holds the latest `feedCapacity` events for watchers. With
    /// `snapshots`, its first catch-up starts from the newest snapshot it can restore.
    public init(
        log: any EventLog, model: MemoryReadModel, snapshots: (any MemorySnapshotStore)? = nil, pageSize: Int = 1000,
        pollInterval: Duration = .seconds(2), feedCapacity: Int = 4096, logger: Logger
    ) {
        self.log = log
        self.snapshots = snapshots
        self.feed = ProjectionFeed(capacity: feedCapacity)
        self.model = model
        self.pageSize = pageSize
        self.pollInterval = pollInterval
        self.logger = logger
    }

    /// Whether the model has caught up with the log at least once since start (readiness).
    public var isReady: Bool { caughtUpOnce.load(ordering: .acquiring) }

    /// The position of the snapshot the model started from (nil: it replayed the log from its start).
    public var restoredFrom: Int64? {
        let position = restoredPosition.load(ordering: .acquiring)
        return position > 0 ? position : nil
    }

    /// Reads and applies everything committed after the checkpoint. Concurrent callers queue, so
    /// each sees every event committed before it called; callers that queued behind one catch-up
    /// share the next (it begins after they called, so it reads what they need): a hundred
    /// writers catching up at once cost a few reads of the log, not a hundred.
    @discardableResult
    public func catchUp() async throws -> Int64 {
        let ticket = asked.add(1, ordering: .acquiringAndReleasing).newValue
        return try await lock.withLock {
            // A catch-up that began after this call has completed: nothing to read for it.
            if covered.load(ordering: .acquiring) >= ticket { return model.checkpoint }
            let covering = asked.load(ordering: .acquiring)
            if let snapshots, !snapshotLookedFor.load(ordering: .acquiring) { try await restore(from: snapshots) }
            var applied = 0
            var events = try await log.readAll(after: model.checkpoint, limit: pageSize)
            while true {
                let previous = model.checkpoint
                // A full page may have a next one: it is read while this one is folded (the log
                // and the fold then work at once; only this projector applies to the model).
                let full = events.count == pageSize
                let after = events.last?.position ?? previous
                async let next = full ? log.readAll(after: after, limit: pageSize) : []
                model.apply(events)
                feed.publish(events, after: previous)
                applied += events.count
                events = try await next
                if !full { break }
            }
            caughtUpOnce.store(true, ordering: .releasing)
            covered.store(covering, ordering: .releasing)
            metrics.caughtUp(checkpoint: model.checkpoint, applied: applied)
            if applied > 0 { advanced.signal() }
            return model.checkpoint
        }
    }

    /// Starts the empty model from the newest snapshot it can restore. A snapshot that cannot be
    /// restored (other keys or format, does not open) is passed over: the log is replayed from its
    /// start. A snapshot store that does not answer fails this catch-up, as the log would.
    private func restore(from snapshots: any MemorySnapshotStore) async throws {
        guard model.checkpoint == 0 else {
            snapshotLookedFor.store(true, ordering: .releasing)
            return
        }
        let stored = try await snapshots.latestMemorySnapshot(withState: true)
        snapshotLookedFor.store(true, ordering: .releasing)
        guard let stored else { return }
        do {
            let streams = try MemorySnapshot.open(stored, sealer: model.sealer)
            guard model.restore(streams, at: stored.position) else { return }
            feed.restart(at: stored.position)
            restoredPosition.store(stored.position, ordering: .releasing)
            metrics.restored(at: stored.position)
            logger.info(
                "memory model restored from a snapshot",
                metadata: ["position": "\(stored.position)", "streams": "\(streams.count)", "written_by": "\(stored.node)"]
            )
        } catch {
            logger.warning(
                "memory snapshot not restored: replaying the log from its start",
                metadata: ["position": "\(stored.position)", LogKey.error: "\(LedgerError.explain(error))"]
            )
        }
    }

    /// Catches up once, within `timeout`; returns whether it did. Positions are handed out to
    /// callers only once committed, so one catch-up started after a caller saw a position
    /// reaches it: there is nothing to poll for.
    public func catchUp(within timeout: Duration) async -> Bool {
        let done = try? await Deadline.run(within: timeout, onTimeout: { CancellationError() }) {
            try await self.catchUp()
        }
        return done != nil
    }

    /// Follows the log until cancelled: LISTEN (re-established on every reconnect, each followed
    /// by a catch-up), plus a poll every `pollInterval`.
    public func run() async throws {
        let (wakes, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [log, logger] in
                while !Task.isCancelled {
                    do {
                        try await log.listen { continuation.yield() }
                    } catch is CancellationError {
                        return
                    } catch {
                        logger.warning("listener lost, reconnecting", metadata: [LogKey.error: "\(LedgerError.explain(error))"])
                    }
                    try? await Task.sleep(for: .milliseconds(500))
                }
            }
            group.addTask { [pollInterval] in
                while !Task.isCancelled {
                    continuation.yield()
                    try await Task.sleep(for: pollInterval)
                }
            }
            group.addTask { [logger] in
                for await _ in wakes {
                    do {
                        try await self.catchUp()
                    } catch where Task.isCancelled {
                        return  // stopping: not a failure
                    } catch {
                        logger.warning("catch-up failed, retrying on next wake-up", metadata: [LogKey.error: "\(LedgerError.explain(error))"])
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}
