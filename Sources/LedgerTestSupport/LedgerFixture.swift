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
    /// The clock every freshness decision reads.
    public let clock: TestClock
    /// The sealer the ledger uses (a test writing events behind the ledger's back needs it).
    public let sealer: Sealer

    /// Builds a ledger over `log` (a fresh in-memory one by default).
    public init(
        log: any EventLog = InMemoryEventLog(),
        platforms: [String: any Platform],
        freshness: Freshness = Freshness(),
        node: String = "test",
        sealer: Sealer? = nil
    ) throws {
        let sealer = try sealer ?? Sealer(current: "k1", keys: ["k1": String(repeating: "A", count: 43) + "="])
        let clock = TestClock()
        let logger = Logger(label: "ledger-test")
        let projector = Projector(log: log, model: MemoryReadModel(sealer: sealer), logger: logger)
        self.ledger = Ledger(
            log: log, projector: projector, platforms: platforms, sealer: sealer,
            options: Ledger.Options(freshness: freshness, node: node), logger: logger, now: { clock.now }
        )
        self.log = log
        self.clock = clock
        self.sealer = sealer
    }
}

/// A wall clock that starts at the real time and moves only when told.
public final class TestClock: Sendable {
    private let date = Mutex(Date())

    /// Now, as far as the ledger is concerned.
    public var now: Date { date.withLock { $0 } }

    /// Moves the clock forward.
    public func advance(by seconds: TimeInterval) {
        date.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    /// Starts at the current time.
    public init() {}
}
