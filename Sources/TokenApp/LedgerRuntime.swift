import Foundation
public import Logging
import Platforms
import ServiceLifecycle
public import TokenLedger

/// The ledger wired to its stores and platforms, with the services that own every resource:
/// nothing here is closed outside the service group of `serviceGroup()` or `withConnections`.
public struct LedgerRuntime: Sendable {
    /// The ledger.
    public let ledger: Ledger
    /// The sealer (for audit views).
    public let sealer: Sealer
    /// The platforms by name, for checking an app's options before the ledger records them.
    public let platforms: [String: any Platform]
    /// The projectors of the shared read models (Redis, MySQL, MongoDB) configured.
    public let storeProjectors: [StoreProjector]
    /// The projectors of the configured webhooks.
    public let webhookProjectors: [WebhookProjector]
    /// The connections, in dependency order: the log's client (PostgreSQL) or file (SQLite), then
    /// the shared read models' pools; each releases what it holds when its `run()` ends. What a
    /// one-off command needs (`withConnections`).
    let connections: [any Service]
    /// The memory projector, the store projectors and the scheduler: what a serving replica runs besides.
    let workers: [any Service]
    let log: OpenedLog
    let stores: [OpenedReadModel]
    let projector: Projector
    let apps: [ServerConfiguration.DeclaredApp]
    let logger: Logger

    /// Opens the configured log (a SQLite file is opened here, and closed by its service: run
    /// `serviceGroup()` or `withConnections` once made), and builds the ledger over it.
    /// Connections to servers are made once the services run.
    public static func make(_ configuration: ServerConfiguration, logger: Logger) async throws -> LedgerRuntime {
        let sealer = try SealerLoader.load(configuration.secrets, environment: configuration.environment, logger: logger)
        let node = configuration.nodeName ?? "\(ProcessInfo.processInfo.hostName):\(configuration.http.port)"
        let stores = try OpenedReadModel.open(configuration.readModels, node: node)
        // Last of what may throw: a SQLite file must be closed by its service once opened.
        let log = try await OpenedLog.open(configuration.eventLog, node: node, logger: logger)
        let model = MemoryReadModel(sealer: sealer)
        let snapshots = configuration.eventLog.snapshotEvery > 0 ? log.memorySnapshots : nil
        let projector = Projector(log: log.log, model: model, snapshots: snapshots, pollInterval: configuration.eventLog.pollInterval, logger: logger)
        let platforms = PlatformRegistry.make(
            baseURLs: configuration.platforms.baseURLs,
            tokenURLPolicy: TokenURLPolicy(allowPrivateNetworks: configuration.platforms.allowPrivateTokenURLs),
            httpClient: PlatformRegistry.httpClient,
            timeout: configuration.platforms.timeout
        )
        let ledger = Ledger(
            log: log.log,
            projector: projector,
            platforms: platforms,
            tiers: stores.map(\.model),
            sealer: sealer,
            options: Ledger.Options(
                freshness: Freshness(
                    earlySeconds: configuration.refresh.early.seconds,
                    earlySecondsByPlatform: configuration.platforms.early.mapValues(\.seconds),
                    maxFraction: configuration.refresh.maxEarlyFraction
                ),
                node: node,
                readYourWritesTimeout: configuration.http.readYourWritesTimeout,
                budgets: QuotaBudgets(configuration.platforms.budgets),
                // Replicas share the configuration: one that does not schedule still tells the plan.
                renewalPolicy: configuration.refresh.interval > .zero ? renewalPolicy(configuration.refresh) : nil
            ),
            logger: logger
        )
        let storeProjectors = stores.map { store in
            StoreProjector(
                model: store.model,
                log: log.log,
                election: log.election,
                sealer: sealer,
                wakes: projector.advanced,
                pollInterval: configuration.eventLog.pollInterval,
                head: { model.checkpoint },
                logger: logger
            )
        }
        var workers: [any Service] = [RunService { try await projector.run() }]
        workers += storeProjectors.map { storeProjector -> any Service in RunService { try await storeProjector.run() } }
        let webhookProjectors = try Self.webhookProjectors(configuration, log: log, wakes: projector.advanced, head: { model.checkpoint }, logger: logger)
        workers += webhookProjectors.map { webhookProjector -> any Service in RunService { try await webhookProjector.run() } }
        if let scheduler = scheduler(configuration.refresh, ledger: ledger, logger: logger) {
            workers.append(scheduler)
        }
        if let snapshots {
            let writer = MemorySnapshotWriter(
                model: model, store: snapshots, election: log.election, every: configuration.eventLog.snapshotEvery,
                interval: configuration.eventLog.pollInterval, node: node, logger: logger
            )
            workers.append(RunService { try await writer.run() })
        }
        return LedgerRuntime(
            ledger: ledger,
            sealer: sealer,
            platforms: platforms,
            storeProjectors: storeProjectors,
            webhookProjectors: webhookProjectors,
            connections: [log.service] + stores.map { store -> any Service in ResourceService(release: { await store.model.shutdown() }) },
            workers: workers,
            log: log,
            stores: stores,
            projector: projector,
            apps: configuration.apps,
            logger: logger
        )
    }

    /// The scheduler, when this replica runs one (`refresh.enabled` and a positive interval).
    private static func scheduler(_ refresh: ServerConfiguration.Refresh, ledger: Ledger, logger: Logger) -> (any Service)? {
        guard refresh.schedules else { return nil }
        let scheduler = RefreshScheduler(
            ledger: ledger,
            options: RefreshScheduler.Options(interval: refresh.interval, policy: renewalPolicy(refresh), concurrency: refresh.concurrency),
            logger: logger
        )
        return RunService { try await scheduler.run() }
    }

    /// How the scheduler plans renewals under `refresh.*`.
    private static func renewalPolicy(_ refresh: ServerConfiguration.Refresh) -> RefreshPlan.Policy {
        RefreshPlan.Policy(
            lead: refresh.lead > .zero ? refresh.lead.seconds : 2 * refresh.interval.seconds,
            jitter: refresh.jitter.seconds,
            maxBackoff: refresh.maxBackoff.seconds
        )
    }

    /// The newest snapshot of the memory model checked against the log folded up to its position:
    /// its position and the streams that differ; nil when there is none.
    /// Throws why it cannot be restored with this replica's code and keys. Needs the connections running.
    public func verifyMemorySnapshot() async throws -> (position: Int64, differences: [StreamID])? {
        guard let store = log.memorySnapshots, let stored = try await store.latestMemorySnapshot(withState: true) else { return nil }
        return (stored.position, try await MemorySnapshot.differences(of: stored, in: log.log, sealer: sealer))
    }

    /// Applies the log's migrations (none when every one is applied, so that serve may run as
    /// `tokenledger_writer`) and checks that every shared read model answers and has its tables.
    /// Needs the connections running.
    public func prepareStores() async throws {
        try await log.prepare()
        for store in stores { try await store.prepare() }
    }

    /// Registers the apps of configuration, after the memory model has caught up with the log.
    /// A changed secret the platform refuses (or cannot check now) is not registered and does not
    /// stop the replica: the working one stays, and the log says why.
    func registerDeclaredApps() async throws {
        try await projector.catchUp()
        for app in apps {
            let stream = try StreamID(parsing: app.stream)
            do {
                try await platforms[stream.platform]?.checkOptions(app.options)
                try QuotaBudget.checkOptions(app.options)
            } catch let refusal as LedgerError {
                throw ConfigurationFailure(message: "app_options of \(stream): \(refusal.message)")
            }
            do {
                try await ledger.credentials.register(secret: app.secret, .register(options: app.options), for: stream, context: CallContext(actor: "config"))
            } catch let error as LedgerError where error.code != .storeUnavailable && error.code != .invalidInput {
                logger.error("app \(stream) from configuration: \(error.message)")
            }
        }
    }
}
