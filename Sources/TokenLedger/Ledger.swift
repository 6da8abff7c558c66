#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
public import Logging

/// The ledger: builds and holds its four parts over one log — the `TokenReader` that serves
/// tokens, the `Refresher` that calls a platform at most once per stream per refresh across
/// every replica and reader, the `Credentials` that register and rotate secrets, and the `Audit`
/// that answers from the log — with the metrics they share.
public final class Ledger: Sendable {
    /// Tunables of the ledger.
    public struct Options: Sendable {
        /// The freshness policy (`refresh.early_seconds`).
        public var freshness: Freshness
        /// This replica's name, recorded with every event it appends.
        public var node: String
        /// How long a read waits for this replica to reach a position the caller has seen.
        public var readYourWritesTimeout: Duration
        /// The daily budgets forced refreshes are held to (`platforms.<name>.daily_budget`, …).
        public var budgets: QuotaBudgets
        /// How the scheduler plans renewals, when one runs in the cluster: the status of a stream
        /// then tells its next renewal.
        public var renewalPolicy: RefreshPlan.Policy?

        /// Creates options.
        public init(
            freshness: Freshness = Freshness(),
            node: String,
            readYourWritesTimeout: Duration = .seconds(1),
            budgets: QuotaBudgets = QuotaBudgets(),
            renewalPolicy: RefreshPlan.Policy? = nil
        ) {
            self.freshness = freshness
            self.node = node
            self.readYourWritesTimeout = readYourWritesTimeout
            self.budgets = budgets
            self.renewalPolicy = renewalPolicy
        }
    }

    /// The log.
    public let log: any EventLog
    /// The memory projector (and through it the memory model).
    public let projector: Projector
    /// The options.
    public let options: Options
    /// The ledger's metrics, shared by its parts and the scheduler.
    public let metrics: LedgerMetrics
    /// Serves tokens: memory, then the shared read models, then a refresh.
    public let reader: TokenReader
    /// Refreshes tokens: the single flight, the refresh lock, the platform call, the outcome.
    public let refresher: Refresher
    /// Registers, rotates and reseals credentials.
    public let credentials: Credentials
    /// Answers audits: a stream's history, the events feed.
    public let audit: Audit

    /// Creates a ledger over a log, a projector, the platforms by name and a sealer; `tiers` are
    /// the shared read models, fastest first, and `now` the clock every freshness decision reads.
    public init(
        log: any EventLog,
        projector: Projector,
        platforms: [String: any Platform],
        tiers: [any ReadModel] = [],
        sealer: Sealer,
        options: Options,
        logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        let metrics = LedgerMetrics()
        let refresher = Refresher(
            log: log, projector: projector, platforms: platforms, sealer: sealer, freshness: options.freshness, budgets: options.budgets,
            node: options.node, metrics: metrics, logger: logger, now: now
        )
        let credentials = Credentials(refresher: refresher, logger: logger)
        self.log = log
        self.projector = projector
        self.options = options
        self.metrics = metrics
        self.refresher = refresher
        self.credentials = credentials
        self.reader = TokenReader(
            projector: projector, tiers: tiers, refresher: refresher, credentials: credentials, freshness: options.freshness,
            readYourWritesTimeout: options.readYourWritesTimeout, renewalPolicy: options.renewalPolicy, metrics: metrics, logger: logger, now: now
        )
        self.audit = Audit(log: log)
    }
}
