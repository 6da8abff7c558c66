#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
import Logging
import Synchronization
public import TokenLedger

/// A ledger in memory over a given log, with platforms by name and a clock the test moves.
public struct LedgerFixture: Sendable {
    /// The ledger.
    public let ledger: Ledger
    /// The log under it.
    public let log: any EventLog
    /// The clock every freshness decision reads (and the default log records events at).
    public let clock: TestClock
    /// The sealer the ledger uses (a test writing events behind the ledger's back needs it).
    public let sealer: Sealer

    /// Builds a ledger over `log` (by default a fresh in-memory one that records at `clock`'s time),
    /// holding forced refreshes to `budgets` (none by default) and planning renewals by `renewalPolicy`.
    public init(
        log: (any EventLog)? = nil,
        platforms: [String: any Platform],
        freshness: Freshness = Freshness(),
        budgets: QuotaBudgets = QuotaBudgets(),
        renewalPolicy: RefreshPlan.Policy? = nil,
        node: String = "test",
        sealer: Sealer? = nil,
        snapshots: (any MemorySnapshotStore)? = nil,
        clock: TestClock = TestClock()
    ) throws {
        let sealer = try sealer ?? Sealer(current: "k1", keys: ["k1": String(repeating: "A", count: 43) + "="])
        let log = log ?? InMemoryEventLog(now: { clock.now })
        let logger = Logger(label: "ledger-test")
        let projector = Projector(log: log, model: MemoryReadModel(sealer: sealer), snapshots: snapshots, logger: logger)
        self.ledger = Ledger(
            log: log, projector: projector, platforms: platforms, sealer: sealer,
            options: Ledger.Options(freshness: freshness, node: node, budgets: budgets, renewalPolicy: renewalPolicy), logger: logger, now: { clock.now }
        )
        self.log = log
        self.clock = clock
        self.sealer = sealer
    }

    /// A scheduler over this ledger, on its clock; tests drive it with `tick()`.
    public func scheduler(policy: RefreshPlan.Policy, concurrency: Int = 4) -> RefreshScheduler {
        RefreshScheduler(
            ledger: ledger, options: RefreshScheduler.Options(interval: .seconds(1), policy: policy, concurrency: concurrency),
            logger: Logger(label: "scheduler-test")
        )
    }
}

/// A wall clock that starts at a given time and moves only when told.
public final class TestClock: Sendable {
    private let date: Mutex<Date>

    /// Now, as far as the ledger is concerned.
    public var now: Date { date.withLock { $0 } }

    /// Moves the clock forward.
    public func advance(by seconds: TimeInterval) {
        date.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    /// Starts at `start` (the current time by default).
    public init(start: Date = Date()) {
        date = Mutex(start)
    }
}
