import ArgumentParser
import AsyncHTTPClient
import Foundation
import LedgerPostgres
import Logging
import PighandImport
import Platforms
import TokenLedger

/// `tokenledger import pighand` against real stores: N apps, each with a live token, in a
/// pighand-token `token_platform` table on MariaDB, imported into a PostgreSQL log; prints apps
/// imported per second beside references from the same run: the rows read from MariaDB alone (the
/// store's read cost) and the same appends made straight to the log, 16 apps at a time (a
/// `credentials.set` through group commit and a `token.issued` under the refresh lock per app, as
/// an import appends them, and both through group commit).
struct ImportBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import")

    @Option(help: "A PostgreSQL URL of a database the benchmark may fill.") var postgres: String
    @Option(help: "A MariaDB server the benchmark may create a database on: mysql://user[:password]@host:port.") var mysql: String
    @Option var apps = 3_000
    @Option var pageSize = 1_000

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let project = Int.random(in: 1_000_000...9_999_999)
        let now = Int(Date().timeIntervalSince1970)
        let storeURL = try Self.fill(mysql, apps: apps, project: project, now: now)

        let store = try PighandMySQL(url: storeURL)
        // The first pass warms MariaDB's buffer pool, as the import's own read finds it.
        _ = try await Self.readAll(store, pageSize: pageSize)
        let (read, readSeconds) = try await Self.timed { try await Self.readAll(store, pageSize: pageSize) }
        print(String(format: "store alone: read %d rows from MariaDB in %.3f s: %.0f rows/s", read, readSeconds, Double(read) / readSeconds))

        let log = try PostgresEventLog(url: postgres, logger: logger, timeout: .seconds(60))
        let sealer = try Sealer(current: "k", keys: ["k": Sealer.generateKey()])
        let apps = self.apps
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await log.run() }
            defer { group.cancelAll() }
            try await log.migrate()

            let (_, groupedSeconds) = try await Self.timed {
                try await Self.appendAlone(log, apps: apps, project: "grouped\(project)", sealer: sealer, lockingTokens: false)
            }
            print(String(format: "appends alone, both through group commit (16 apps at a time): %d apps in %.2f s: %.0f apps/s", apps, groupedSeconds, Double(apps) / groupedSeconds))
            let (_, appendSeconds) = try await Self.timed {
                try await Self.appendAlone(log, apps: apps, project: "raw\(project)", sealer: sealer, lockingTokens: true)
            }
            print(String(format: "appends alone, the token under the refresh lock (16 apps at a time): %d apps in %.2f s: %.0f apps/s", apps, appendSeconds, Double(apps) / appendSeconds))

            let projector = Projector(log: log, model: MemoryReadModel(sealer: sealer), logger: logger)
            try await projector.catchUp()
            // Platforms are only looked up: an import calls none.
            let platforms = PlatformRegistry.make(baseURLs: ["wechat": "http://127.0.0.1:9"], httpClient: .shared, timeout: .seconds(1))
            let ledger = Ledger(log: log, projector: projector, platforms: platforms, sealer: sealer, options: .init(node: "bench"), logger: logger)
            let importer = PighandImporter(ledger: ledger, dryRun: false, pageSize: pageSize)
            let (summary, importSeconds) = try await Self.timed { try await importer.run(from: store, report: { _ in }) }
            guard summary.appsRegistered == apps, summary.tokensCarried == apps else {
                throw ValidationError("the import did not register and carry over every app: \(summary.lines(dryRun: false))")
            }
            print(
                String(
                    format: "import: %d apps (secret and token each) in %.2f s: %.0f apps/s (%.2f of the appends alone under the refresh lock; reading the rows took %.1f %% of it)",
                    apps, importSeconds, Double(apps) / importSeconds, appendSeconds / importSeconds, readSeconds / importSeconds * 100
                )
            )
        }
        await store.close()
    }

    /// Creates a database of its own on `server` with `apps` rows in `token_platform` as
    /// pighand-token's `public/mysql.sql` shapes it, each app with a token live for an hour;
    /// returns its URL. The table is the one `PighandTables` loads for the tests (not linked here:
    /// the test support needs swift-testing).
    static func fill(_ server: String, apps: Int, project: Int, now: Int) throws -> String {
        guard var url = URLComponents(string: server) else { throw ValidationError("not a URL: \(server)") }
        let database = "pighand_bench_\(project)"
        guard apps > 0 else { throw ValidationError("--apps must be positive") }
        let values = (1...apps).map { index in
            "(\(index), \(project), 'wechat', 'wx\(index)', 'secret-\(index)', 'token-\(index)-\(String(repeating: "x", count: 120))', \(now + 3600))"
        }
        let sql = """
            CREATE DATABASE \(database);
            USE \(database);
            CREATE TABLE token_platform (
              id bigint unsigned NOT NULL AUTO_INCREMENT,
              project_id bigint unsigned NOT NULL,
              platform varchar(32) NOT NULL,
              appid varchar(32) NOT NULL,
              secret varchar(32) NOT NULL,
              access_token varchar(255) DEFAULT NULL,
              expires_time bigint unsigned DEFAULT NULL,
              PRIMARY KEY (id),
              KEY idx_develop_key_project_id_platform_appid (project_id, platform, appid)
            ) DEFAULT CHARSET=utf8mb4;
            INSERT INTO token_platform VALUES \(values.joined(separator: ",\n"));
            """
        var arguments = ["--no-defaults", "-u\(url.user ?? "root")", "-h\(url.host ?? "127.0.0.1")", "-P\(url.port ?? 3306)", "--protocol=tcp"]
        if let password = url.password { arguments.append("-p\(password)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/mariadb")
        process.arguments = arguments
        let input = Pipe()
        process.standardInput = input
        print("filling \(database) with \(apps) apps…")
        try process.run()
        // On standard input: a statement of thousands of rows is longer than an argument may be.
        input.fileHandleForWriting.write(Data(sql.utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("mariadb could not fill \(database)") }
        url.path = "/" + database
        guard let text = url.string else { throw ValidationError("no URL for \(database)") }
        return text
    }

    /// Reads every row of `store` as the importer does (its count, then page by page).
    static func readAll(_ store: PighandMySQL, pageSize: Int) async throws -> Int {
        _ = try await store.count()
        var read = 0
        var cursor: String?
        repeat {
            let page = try await store.rows(after: cursor, limit: pageSize)
            read += page.rows.count
            cursor = page.next
        } while cursor != nil
        return read
    }

    /// What an import appends, made straight to the log in `project`, 16 apps at a time: a
    /// `credentials.set` (group-committed), then a `token.issued` under the refresh lock as an
    /// import appends it (`lockingTokens`) or group-committed too.
    static func appendAlone(_ log: PostgresEventLog, apps: Int, project: String, sealer: Sealer, lockingTokens: Bool) async throws {
        let metadata = EventMetadata(node: "bench")
        try await withThrowingTaskGroup(of: Void.self) { writers in
            for writer in 0..<16 {
                writers.addTask {
                    for index in stride(from: writer, to: apps, by: 16) {
                        let stream = try StreamID(project: project, platform: "wechat", appid: "wx\(index)")
                        let secret = CredentialsSet(secret: try sealer.seal("secret-\(index)", for: stream, as: .secret))
                        _ = try await log.append([try NewEvent(secret, metadata: metadata)], to: stream, expectedVersion: 0)
                        let token = TokenIssued(
                            token: try sealer.seal("token-\(index)", for: stream, as: .token), expiresAt: Date().addingTimeInterval(3600), reason: .imported,
                            upstreamLatencyMs: 0
                        )
                        let event = try NewEvent(token, metadata: metadata)
                        if lockingTokens {
                            _ = try await log.withRefreshLock(on: stream) { fence in try await fence.append([event], to: stream, expectedVersion: 1) }
                        } else {
                            _ = try await log.append([event], to: stream, expectedVersion: 1)
                        }
                    }
                }
            }
            try await writers.waitForAll()
        }
    }

    static func timed<T>(_ body: () async throws -> T) async rethrows -> (T, Double) {
        let started = ContinuousClock.now
        let value = try await body()
        return (value, (ContinuousClock.now - started) / .seconds(1))
    }
}
