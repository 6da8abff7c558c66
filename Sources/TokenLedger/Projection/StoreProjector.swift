#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
import AsyncAlgorithms
public import Logging
import Synchronization

/// Follows the log into one shared read model, from the checkpoint stored in the model itself.
///
/// Only the leader of the model's role (one process among the replicas, elected through the log)
/// writes; the others wait to take over. A store that fails is retried with back-off, and once
/// back it catches up from its checkpoint, so no event is lost or applied out of order.
public final class StoreProjector: Sendable {
    /// The model this projector writes.
    public let model: any ReadModel
    private let log: any EventLog
    private let election: any LeaderElection
    private let sealer: Sealer
    private let wakes: WakeSignal
    private let pageSize: Int
    private let pollInterval: Duration
    private let logger: Logger
    private let lock = AsyncLock()
    private let leading = Atomic<Bool>(false)
    private let head: @Sendable () -> Int64
    /// Metrics of this model (checkpoint, heartbeat, leadership, failures).
    public let metrics: StoreProjectionMetrics
    private let failureLog = Mutex(ProjectionFailures())

    /// Creates a projector of `model`; `wakes` is signalled when the log may have grown; `head`
    /// tells how far the log is known to go (the memory model's checkpoint), for the lag metric.
    public init(
        model: any ReadModel,
        log: any EventLog,
        election: any LeaderElection,
        sealer: Sealer,
        wakes: WakeSignal,
        pageSize: Int = 1000,
        pollInterval: Duration = .seconds(2),
        head: @escaping @Sendable () -> Int64 = { 0 },
        logger: Logger
    ) {
        self.head = head
        self.model = model
        self.log = log
        self.election = election
        self.sealer = sealer
        self.wakes = wakes
        self.pageSize = pageSize
        self.pollInterval = pollInterval
        self.logger = logger
        self.metrics = StoreProjectionMetrics(readModel: model.name)
    }

    /// The failed catch-ups of this process since it started (the dashboard's cluster page).
    public var failures: ProjectionFailures { failureLog.withLock { $0 } }

    /// Whether this process currently writes the model.
    public var isLeader: Bool { leading.load(ordering: .acquiring) }

    /// The leadership role of the model, shared by every replica of the log.
    public var role: String { "readmodel:\(model.name)" }

    /// Applies everything committed after the model's stored checkpoint; returns the new checkpoint.
    @discardableResult
    public func catchUp() async throws -> Int64 {
        try await lock.withLock {
            let (checkpoint, applied) = try await project(after: try await model.checkpoint())
            metrics.caughtUp(checkpoint: checkpoint, applied: applied, lag: max(0, head() - checkpoint))
            return checkpoint
        }
    }

    /// Rebuilds the model from the log: from zero (clearing it first) when `from` is nil, else
    /// applies every event after `from` over what it holds. Safe while a leader keeps writing:
    /// both write under the same position guards. Returns the checkpoint reached.
    @discardableResult
    public func replay(from: Int64?) async throws -> Int64 {
        try await lock.withLock {
            if from == nil { try await model.reset() }
            return try await project(after: from ?? 0).checkpoint
        }
    }

    /// Events read from the log, with the checkpoint the model may take once their rows are
    /// written and how many positions of the log that covers.
    private struct Batch: Sendable {
        var events: [RecordedEvent]
        var checkpoint: Int64
        var covered: Int
    }

    /// One page on its way from the log to the model.
    private struct Page: Sendable {
        var rows: [ReadModelRow]
        var checkpoint: Int64
        var covered: Int
    }

    /// Reads the log after `position` and writes it to the model page by page, in order. The
    /// three stages — reading the log, opening the tokens, writing the store — work on three
    /// pages at once (channels hand each page on only when the next stage takes it).
    ///
    /// A model more than a page behind (a replay, a store back after an outage) needs only each
    /// stream's last token-deciding event up to the log's head: those events are read
    /// (`EventLog.lastTokenEventPositions`) and written with the checkpoint left where it was, and the
    /// checkpoint moves to the head only with the last of them, so a reader never takes the model
    /// for caught up while rows are missing, and a catch-up that fails midway starts again from
    /// where the checkpoint stayed. Rows only ever replace older ones, so writing them in another
    /// order than the log's is harmless.
    private func project(after position: Int64) async throws -> (checkpoint: Int64, applied: Int) {
        let read = AsyncThrowingChannel<Batch, any Error>()
        let opened = AsyncThrowingChannel<Page, any Error>()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [log, pageSize] in
                do {
                    var after = position
                    var readLastTokens = false
                    while true {
                        try Task.checkCancellation()
                        let events = try await log.readAll(after: after, limit: pageSize)
                        guard let last = events.last else { break }
                        await read.send(Batch(events: events, checkpoint: last.position, covered: events.count))
                        after = last.position
                        if events.count < pageSize { break }
                        if !readLastTokens {
                            readLastTokens = true
                            after = try await Self.lastTokenEvents(of: log, after: after, pageSize: pageSize, into: read)
                        }
                    }
                    read.finish()
                } catch {
                    read.fail(error)
                }
            }
            group.addTask { [sealer, logger, model] in
                do {
                    for try await batch in read {
                        let rows = ReadModelRow.rows(for: batch.events, sealer: sealer) { event in
                            logger.warning(
                                "token event cannot be opened, token cleared",
                                metadata: ["readmodel": "\(model.name)", LogKey.stream: "\(event.stream)", "position": "\(event.position)"]
                            )
                        }
                        await opened.send(Page(rows: rows, checkpoint: batch.checkpoint, covered: batch.covered))
                    }
                    opened.finish()
                } catch {
                    opened.fail(error)
                }
            }
            var checkpoint = position
            var applied = 0
            do {
                for try await page in opened {
                    try await model.apply(page.rows, checkpoint: page.checkpoint)
                    checkpoint = page.checkpoint
                    applied += page.covered
                }
            } catch {
                group.cancelAll()
                throw error
            }
            try await group.waitForAll()
            return (checkpoint, applied)
        }
    }

    /// Sends the last token-deciding event of each stream after `position` up to the log's head,
    /// `pageSize` at a time, each batch keeping `position` as its checkpoint but the last, which
    /// takes the head; returns the head.
    private static func lastTokenEvents(
        of log: any EventLog, after position: Int64, pageSize: Int, into read: AsyncThrowingChannel<Batch, any Error>
    ) async throws -> Int64 {
        let (positions, head) = try await log.lastTokenEventPositions(after: position)
        guard head > position else { return position }
        var start = 0
        repeat {
            try Task.checkCancellation()
            let end = min(positions.count, start + pageSize)
            let wanted = Array(positions[start..<end])
            let events = try await log.readEvents(at: wanted)
            guard events.map(\.position) == wanted else {
                throw LedgerError(.corruptEvent, "the log did not give back the events at positions \(wanted.first ?? 0)…\(wanted.last ?? 0)")
            }
            let final = end == positions.count
            await read.send(Batch(events: events, checkpoint: final ? head : position, covered: final ? Int(head - position) : 0))
            start = end
        } while start < positions.count
        return head
    }

    /// Leads the model when no other process does, following the log while leading; retries
    /// leadership every `pollInterval` otherwise. Runs until cancelled.
    public func run() async throws {
        await election.campaign(for: role, retry: pollInterval) { [logger, model] error in
            logger.warning("read model leadership lost", metadata: ["readmodel": "\(model.name)", LogKey.error: "\(LedgerError.explain(error))"])
        } _: {
            self.leading.store(true, ordering: .releasing)
            self.metrics.leader(true)
            self.logger.info("leading read model", metadata: ["readmodel": "\(self.model.name)"])
            defer {
                self.leading.store(false, ordering: .releasing)
                self.metrics.leader(false)
            }
            try await self.follow()
        }
    }

    /// Catches up on every wake-up and every `pollInterval`, backing off while the store fails.
    private func follow() async throws {
        let wakeUps = wakes.subscribe()
        defer { wakeUps.cancel() }
        var backoff = Duration.milliseconds(200)
        while !Task.isCancelled {
            do {
                try await catchUp()
                backoff = .milliseconds(200)
                await wakeUps.next(timeout: pollInterval)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                metrics.failed(lag: max(0, head() - ((try? await model.checkpoint()) ?? 0)))
                let reason = LedgerError.explain(error)
                failureLog.withLock { $0.record(reason, at: Date()) }
                logger.warning(
                    "read model catch-up failed, retrying",
                    metadata: ["readmodel": "\(model.name)", LogKey.error: "\(reason)", "retry_in": "\(backoff)"]
                )
                try await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        throw CancellationError()
    }

    /// Compares the model with the log: folds the log, waits up to `wait` for the model to reach
    /// its head, then judges every row (see `ReadModelVerifier`).
    public func verify(wait: Duration, now: Date = Date()) async throws -> [ReadModelDifference] {
        var states: [StreamID: StreamState] = [:]
        var through: Int64 = 0
        while true {
            let events = try await log.readAll(after: through, limit: pageSize)
            for event in events { states[event.stream, default: StreamState()].apply(event, sealer: sealer) }
            guard let last = events.last else { break }
            through = last.position
            if events.count < pageSize { break }
        }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: wait)
        while try await model.checkpoint() < through, clock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        let snapshot = try await model.snapshot()
        var head = through
        while let last = try await log.readAll(after: head, limit: pageSize).last { head = last.position }
        return ReadModelVerifier.differences(readModel: model.name, snapshot: snapshot, expected: states, through: through, logHead: head, now: now)
    }
}

/// How often a store projector's catch-up failed in this process, and the last reason.
public struct ProjectionFailures: Sendable, Equatable {
    /// Failed catch-ups since the process started.
    public private(set) var count = 0
    /// The last failure's reason.
    public private(set) var lastReason: String?
    /// When the last failure happened.
    public private(set) var lastAt: Date?

    mutating func record(_ reason: String, at date: Date) {
        count += 1
        lastReason = String(reason.prefix(300))
        lastAt = date
    }
}
