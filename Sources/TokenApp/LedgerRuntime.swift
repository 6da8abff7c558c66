import AsyncHTTPClient
import Foundation
import LedgerPostgres
import LedgerSQLite
public import Logging
import Platforms
import ReadModelMongo
import ReadModelMySQL
import ReadModelRedis
import ReadModelSupport
public import ServiceLifecycle
public import TokenLedger
import TokenHTTP

/// The ledger wired to its stores and platforms, with the long-lived services that keep it going.
public struct LedgerRuntime: Sendable {
    /// The ledger.
    public let ledger: Ledger
    /// The sealer (for audit views).
    public let sealer: Sealer
    /// The platforms by name, for checking an app's options before the ledger records them.
    public let platforms: [String: any Platform]
    /// Services to run for the runtime's lifetime: connection pools first, then the workers
    /// (projector, scheduler).
    public var services: [any Service] { connections + workers }
    /// The connection pools alone: what a one-off command needs to read the log.
    public let connections: [any Service]
    /// The projector and the scheduler: what a serving replica runs besides.
    public let workers: [any Service]
    /// Work to do before serving: migrations, the first catch-up, apps from configuration.
    public let prepare: @Sendable () async throws -> Void
    /// Releases what the services do not own (the embedded log's file), after they stopped.
    public let shutdown: @Sendable () async -> Void
    /// The projectors of the shared read models (Redis, MySQL, MongoDB) configured.
    public let storeProjectors: [StoreProjector]
    /// Checks that every shared read model answers and has its tables/indexes, after applying
    /// the log's migrations (idempotent), for commands that read the log and write the stores.
    public let prepareReadModels: @Sendable () async throws -> Void

    /// Opens the configured log and builds the ledger over it.
    public static func make(_ configuration: ServerConfiguration, logger: Logger) async throws -> LedgerRuntime {
        let sealer = try SealerLoader.load(configuration.secrets, environment: configuration.environment, logger: logger)
        let url = configuration.eventLog.url
        let log: any EventLog
        var connections: [any Service] = []
        var workers: [any Service] = []
        var migrate: @Sendable () async throws -> Void = {}
        var shutdown: @Sendable () async -> Void = {}
        var election: any LeaderElection = SoleLeader()
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            let postgres = try PostgresEventLog(
                url: url,
                logger: logger,
                timeout: .milliseconds(configuration.eventLog.timeoutMs),
                lockTimeout: .milliseconds(configuration.eventLog.lockTimeoutMs),
                poolConnections: configuration.eventLog.connections,
                lockConnections: configuration.eventLog.lockConnections
            )
            connections.append(RunService { await postgres.run() })
            migrate = {
                do {
                    // Applies nothing when every migration is applied, so that serve may run as
                    // tokenledger_writer; otherwise migrates, which needs the owner.
                    try await postgres.prepareSchema()
                } catch let failure as SchemaFailure {
                    throw ConfigurationFailure(message: "the PostgreSQL log at \(StoreURL.redacted(url)) is not ready: \(failure)")
                } catch {
                    throw ConfigurationFailure(message: "cannot reach PostgreSQL at \(StoreURL.redacted(url)): \(LedgerError.explain(error))")
                }
            }
            log = postgres
            election = postgres
        } else if url.hasPrefix("sqlite:") {
            let sqlite = try await SQLiteEventLog.open(path: String(url.dropFirst("sqlite:".count)), logger: logger)
            shutdown = { try? await sqlite.close() }
            log = sqlite
        } else {
            throw ConfigurationFailure(message: "eventlog.url must start with postgres:// or sqlite:, is '\(StoreURL.redacted(url))'")
        }
        let model = MemoryReadModel(sealer: sealer)
        let projector = Projector(log: log, model: model, pollInterval: .milliseconds(configuration.eventLog.pollIntervalMs), logger: logger)
        let platforms = PlatformRegistry.make(
            baseURLs: configuration.platformBaseURLs,
            tokenURLPolicy: TokenURLPolicy(allowPrivateNetworks: configuration.allowPrivateTokenURLs),
            httpClient: PlatformRegistry.httpClient,
            timeout: .milliseconds(configuration.platformTimeoutMs)
        )
        let node = configuration.nodeName ?? "\(ProcessInfo.processInfo.hostName):\(configuration.http.port)"
        let stores = try ReadModels.open(configuration.readModels, node: node)
        let tiers = stores.map(\.model)
        let ledger = Ledger(
            log: log,
            projector: projector,
            platforms: platforms,
            tiers: tiers,
            sealer: sealer,
            options: Ledger.Options(
                freshness: Freshness(
                    earlySeconds: configuration.refresh.earlySeconds,
                    earlySecondsByPlatform: configuration.refresh.earlySecondsByPlatform,
                    maxFraction: configuration.refresh.maxEarlyFraction
                ),
                node: node,
                readYourWritesTimeout: .milliseconds(configuration.http.readYourWritesTimeoutMs)
            ),
            logger: logger
        )
        workers.append(RunService { try await projector.run() })
        let storeProjectors = tiers.map { store in
            StoreProjector(
                model: store,
                log: log,
                election: election,
                sealer: sealer,
                wakes: projector.advanced,
                pollInterval: .milliseconds(configuration.eventLog.pollIntervalMs),
                head: { model.checkpoint },
                logger: logger
            )
        }
        for storeProjector in storeProjectors {
            workers.append(RunService { try await storeProjector.run() })
        }
        let previousShutdown = shutdown
        shutdown = {
            for store in stores { await store.model.shutdown() }
            await previousShutdown()
        }
        let refresh = configuration.refresh
        if refresh.enabled, refresh.intervalSeconds > 0 {
            let policy = RefreshPlan.Policy(
                lead: refresh.leadSeconds > 0 ? refresh.leadSeconds : 2 * refresh.intervalSeconds,
                jitter: refresh.jitterSeconds,
                maxBackoff: refresh.maxBackoffSeconds
            )
            let refresher = RefreshScheduler(
                ledger: ledger,
                options: RefreshScheduler.Options(interval: .milliseconds(Int(refresh.intervalSeconds * 1000)), policy: policy, concurrency: refresh.concurrency),
                logger: logger
            )
            workers.append(RunService { try await refresher.run() })
        }
        let apps = configuration.apps
        let migrateLog = migrate
        let prepareStores: @Sendable () async throws -> Void = {
            for store in stores { try await ReadModels.prepare(store.model, url: store.url) }
        }
        let prepareReadModels: @Sendable () async throws -> Void = {
            try await migrateLog()
            try await prepareStores()
        }
        let registerApps: @Sendable () async throws -> Void = {
            try await projector.catchUp()
            for app in apps {
                let stream = try StreamID(parsing: app.stream)
                do {
                    try await platforms[stream.platform]?.checkOptions(app.options)
                } catch let refusal as LedgerError {
                    throw ConfigurationFailure(message: "app_options of \(stream): \(refusal.message)")
                }
                do {
                    try await ledger.register(secret: app.secret, options: app.options, for: stream, context: CallContext(actor: "config"))
                } catch let error as LedgerError where error.code != .storeUnavailable && error.code != .invalidInput {
                    // A changed secret the platform refuses (or cannot check now) is not registered,
                    // and must not stop the replica: the working one stays, and the log says why.
                    logger.error("app \(stream) from configuration: \(error.message)")
                }
            }
        }
        if !tiers.isEmpty {
            // With shared read models, a restarted replica serves from them while its memory
            // model catches up, instead of waiting for it before listening.
            workers.append(RunService {
                try await registerApps()
                while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
            })
        }
        let prepare: @Sendable () async throws -> Void = {
            try await migrateLog()
            try await prepareStores()
            if tiers.isEmpty { try await registerApps() }
        }
        return LedgerRuntime(
            ledger: ledger,
            sealer: sealer,
            platforms: platforms,
            connections: connections,
            workers: workers,
            prepare: prepare,
            shutdown: shutdown,
            storeProjectors: storeProjectors,
            prepareReadModels: prepareReadModels
        )
    }
}

/// The shared read models a configuration names, opened (connections are made on first use),
/// with the URL each came from.
enum ReadModels {
    static func open(_ settings: ServerConfiguration.ReadModelSettings, node: String) throws -> [(model: any ReadModel, url: String)] {
        let timeout = Duration.milliseconds(settings.timeoutMs)
        return try settings.selected().map { name, url in
            do {
                switch name {
                case "redis": return (try RedisReadModel(url: url, node: node, timeout: timeout), url)
                case "mysql": return (try MySQLReadModel(url: url, node: node, timeout: timeout), url)
                default: return (try MongoReadModel(url: url, node: node, timeout: timeout), url)
                }
            } catch let error as StoreURLError {
                throw ConfigurationFailure(message: "\(name).url \(error)")
            }
        }
    }

    /// Makes sure the store answers (and has its tables), or says plainly which one does not.
    static func prepare(_ model: any ReadModel, url: String) async throws {
        do {
            try await model.prepare()
        } catch {
            throw ConfigurationFailure(message: "the \(model.name) read model at \(StoreURL.redacted(url)) cannot be used: \(LedgerError.explain(error))")
        }
    }
}

/// Adapts a closure to `Service`, for long-lived loops of modules that do not depend on ServiceLifecycle.
struct RunService: Service {
    let body: @Sendable () async throws -> Void
    init(_ body: @escaping @Sendable () async throws -> Void) { self.body = body }
    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await body() }
        } catch is CancellationError {
            // Cancelled by the graceful shutdown (or by the group): a clean stop, not a failure,
            // so that SIGTERM exits 0 whichever loop noticed the cancellation first.
        }
    }
}
