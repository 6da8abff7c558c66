#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
import HeapModule
public import Logging
import Synchronization

/// Renews every stream before it stops being fresh, through the `Refresher`'s single flight
/// (reason `scheduled`), so a reader and the scheduler never both call a platform.
///
/// Streams wait in a heap by due date; a tick looks only at the streams that changed since the
/// last tick and at those now due, so its cost grows with what is due, not with what is managed.
public final class RefreshScheduler: Sendable {
    /// Tunables (`refresh.*`).
    public struct Options: Sendable {
        /// `refresh.interval_seconds`: time between ticks.
        public var interval: Duration
        /// How the due date of a stream is planned.
        public var policy: RefreshPlan.Policy
        /// `refresh.concurrency`: upstream calls in flight per platform.
        public var concurrency: Int

        /// Creates options.
        public init(interval: Duration, policy: RefreshPlan.Policy, concurrency: Int = 4) {
            self.interval = interval
            self.policy = policy
            self.concurrency = max(1, concurrency)
        }
    }

    struct Entry: Comparable {
        var due: Date
        var stream: StreamID
        var stamp: Int64
        static func < (lhs: Entry, rhs: Entry) -> Bool { lhs.due < rhs.due }
        static func == (lhs: Entry, rhs: Entry) -> Bool { lhs.due == rhs.due && lhs.stream == rhs.stream && lhs.stamp == rhs.stamp }
    }

    struct Queue {
        var heap = Heap<Entry>()
        /// The stamp (state position) each stream is planned for; older heap entries are stale.
        var planned: [StreamID: Int64] = [:]
        var parked: Set<StreamID> = []
    }

    private let changes: any ChangedStreams
    private let refresher: any ScheduledRefreshing
    private let renewalWindow: @Sendable (StreamID, [String: String]) -> Double?
    private let freshness: Freshness
    private let metrics: LedgerMetrics
    private let options: Options
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let queue = Mutex(Queue())

    /// Creates a scheduler that plans the streams `changes` reports, with the renewal window a
    /// platform allows (`renewalWindow(stream, options)`, nil: any time) and the freshness
    /// policy, renews them through `refresher`, and reads the time from `now`.
    public init(
        changes: any ChangedStreams,
        refresher: any ScheduledRefreshing,
        renewalWindow: @escaping @Sendable (StreamID, [String: String]) -> Double?,
        freshness: Freshness,
        metrics: LedgerMetrics,
        options: Options,
        logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.changes = changes
        self.refresher = refresher
        self.renewalWindow = renewalWindow
        self.freshness = freshness
        self.metrics = metrics
        self.options = options
        self.logger = logger
        self.now = now
    }

    /// Creates a scheduler over the parts of `ledger`: its memory model, its refresher and
    /// platforms, its freshness policy, metrics and clock.
    public convenience init(ledger: Ledger, options: Options, logger: Logger) {
        let refresher = ledger.refresher
        self.init(
            changes: ledger.projector.model,
            refresher: refresher,
            renewalWindow: { stream, platformOptions in refresher.renewalWindow(of: stream, options: platformOptions) },
            freshness: ledger.options.freshness,
            metrics: ledger.metrics,
            options: options,
            logger: logger,
            now: refresher.now
        )
    }

    /// Streams parked because their credentials were rejected (metrics, tests).
    public var parkedStreams: Set<StreamID> { queue.withLock { $0.parked } }

    /// Ticks every `interval` until cancelled.
    public func run() async throws {
        while !Task.isCancelled {
            await tick()
            try await Task.sleep(for: options.interval)
        }
    }

    /// Plans the changed streams and refreshes those due; returns how many were attempted.
    @discardableResult
    public func tick() async -> Int {
        let now = self.now()
        let due = plan(now: now)
        guard !due.isEmpty else { return 0 }
        let byPlatform = Dictionary(grouping: due, by: \.stream.platform)
        await withTaskGroup(of: Void.self) { group in
            for (_, entries) in byPlatform {
                group.addTask { await self.refresh(entries, now: now) }
            }
        }
        return due.count
    }

    func plan(now: Date) -> [Entry] {
        let changed = changes.drainChanged()
        return queue.withLock { queue in
            for (stream, state) in changed {
                let window = renewalWindow(stream, state.options)
                switch RefreshPlan.decide(state, stream: stream, freshness: freshness, policy: options.policy, renewalWindow: window) {
                case .due(let date):
                    queue.planned[stream] = state.position
                    queue.parked.remove(stream)
                    queue.heap.insert(Entry(due: date, stream: stream, stamp: state.position))
                case .idle:
                    queue.planned.removeValue(forKey: stream)
                    queue.parked.remove(stream)
                case .parkedUntilNewSecret:
                    queue.planned.removeValue(forKey: stream)
                    if queue.parked.insert(stream).inserted {
                        logger.warning("scheduled refreshes stopped: credentials rejected; set a new secret to resume", metadata: [LogKey.stream: "\(stream)"])
                    }
                }
            }
            metrics.parked(queue.parked.count)
            var due: [Entry] = []
            while let top = queue.heap.min, top.due <= now {
                let entry = queue.heap.removeMin()
                if queue.planned[entry.stream] == entry.stamp { due.append(entry) }
            }
            return due
        }
    }

    /// Refreshes one platform's due streams, at most `concurrency` at a time.
    private func refresh(_ entries: [Entry], now: Date) async {
        await withTaskGroup(of: Void.self) { group in
            var iterator = entries.makeIterator()
            for _ in 0..<options.concurrency {
                guard let entry = iterator.next() else { break }
                group.addTask { await self.refresh(entry, now: now) }
            }
            while await group.next() != nil {
                guard let entry = iterator.next() else { continue }
                group.addTask { await self.refresh(entry, now: now) }
            }
        }
    }

    private func refresh(_ entry: Entry, now: Date) async {
        // The plan may have come due up to `jitter` early: ask for a token fresh past all of it.
        let horizon = now.addingTimeInterval(options.policy.lead + options.policy.jitter)
        metrics.scheduledAttempt()
        do {
            let served = try await refresher.scheduledRefresh(entry.stream, freshUntil: horizon)
            if served.position <= entry.stamp {
                // Nothing new was recorded (the platform handed back the same token, or it is
                // still fresh enough): look again later rather than at every tick.
                retry(entry, at: now.addingTimeInterval(max(options.policy.baseBackoff, options.policy.lead / 2)))
            }
        } catch {
            // A failure recorded in the log re-plans the stream with back-off by itself; one that
            // could not be recorded (the log is down) must not drop the stream from the schedule.
            logger.debug("scheduled refresh failed", metadata: [LogKey.stream: "\(entry.stream)", LogKey.error: "\(LedgerError.explain(error))"])
            retry(entry, at: now.addingTimeInterval(options.policy.baseBackoff))
        }
    }

    private func retry(_ entry: Entry, at date: Date) {
        queue.withLock { queue in
            if queue.planned[entry.stream] == entry.stamp {
                queue.heap.insert(Entry(due: date, stream: entry.stream, stamp: entry.stamp))
            }
        }
    }
}
