import LedgerPostgres
import LedgerSQLite
public import Logging
import ServiceLifecycle
import TokenLedger

/// The configured event log, with the service that owns its connections or its file.
struct OpenedLog: Sendable {
    /// The log the ledger and the projectors read and append to.
    let log: any EventLog
    /// Who may write the shared read models: PostgreSQL elects one replica; SQLite has only one.
    let election: any LeaderElection
    /// Runs the PostgreSQL client, or holds the SQLite file open until the group stops.
    let service: any Service
    /// The PostgreSQL log, for its migrations.
    private let postgres: (log: PostgresEventLog, url: String)?
    /// The SQLite log, for its snapshots.
    private var sqlite: SQLiteEventLog? { log as? SQLiteEventLog }

    /// Opens `settings.url`: a SQLite file at once, a PostgreSQL client when `service` runs (its
    /// connections named after `node`, so that the cluster page can list the replicas).
    static func open(_ settings: ServerConfiguration.EventLogSettings, node: String, logger: Logger) async throws -> OpenedLog {
        switch settings.url {
        case .postgres(let url):
            let postgres = try PostgresEventLog(
                url: url,
                logger: logger,
                timeout: settings.timeout,
                lockTimeout: settings.lockTimeout,
                poolConnections: settings.connections,
                lockConnections: settings.lockConnections,
                node: node
            )
            return OpenedLog(log: postgres, election: postgres, service: RunService { await postgres.run() }, postgres: (postgres, url))
        case .sqlite(let path):
            let sqlite = try await SQLiteEventLog.open(path: path, logger: logger)
            return OpenedLog(log: sqlite, election: SoleLeader(), service: ResourceService(release: { try? await sqlite.close() }), postgres: nil)
        }
    }

    /// Where the webhooks' checkpoints live: beside the PostgreSQL log (none with SQLite).
    var webhookCheckpoints: (any WebhookCheckpoints)? { postgres?.log }

    /// Where the memory model's snapshots live: beside the log, in its database or file.
    var memorySnapshots: (any MemorySnapshotStore)? { postgres?.log ?? sqlite }

    /// Applies the PostgreSQL migrations that are missing (none when every one is applied, so
    /// that serve may run as `tokenledger_writer`; otherwise migrating needs the owner). The
    /// SQLite log made its schema when it opened.
    func prepare() async throws {
        guard let postgres else { return }
        do {
            _ = try await postgres.log.prepareSchema()
        } catch let failure as SchemaFailure {
            throw ConfigurationFailure(message: "the PostgreSQL log at \(EventLogURL.postgres(postgres.url)) is not ready: \(failure)")
        } catch {
            throw ConfigurationFailure(message: "cannot reach PostgreSQL at \(EventLogURL.postgres(postgres.url)): \(LedgerError.explain(error))")
        }
    }
}

/// The migrations of the PostgreSQL log, applied by its owner (`tokenledger migrate`).
public enum EventLogMigration {
    /// What `run` found to do.
    public enum Outcome: Sendable, Equatable {
        /// The SQLite log creates its schema when it opens.
        case nothingToMigrate
        /// The numbers of the migrations applied now (none when the schema was up to date).
        case applied([Int])
    }

    /// Applies the missing migrations, with the client run by a service group for the duration.
    /// A failure of the migration itself is `migrationFailed` with the reason.
    public static func run(_ settings: ServerConfiguration.EventLogSettings, logger: Logger) async throws -> Outcome {
        guard case .postgres(let url) = settings.url else { return .nothingToMigrate }
        let log = try PostgresEventLog(url: url, logger: logger)
        return try await withServices([RunService { await log.run() }], logger: logger) { () async throws -> Outcome in
            do {
                return .applied(try await log.migrate())
            } catch {
                throw MigrationFailure(reason: LedgerError.explain(error))
            }
        }
    }
}

/// A migration that did not apply; `reason` is the database's.
public struct MigrationFailure: Error, CustomStringConvertible {
    /// Why.
    public var reason: String
    /// The reason.
    public var description: String { reason }
}
