import ArgumentParser
import Foundation
import LedgerPostgres
import Logging
import TokenLedger

/// Key rotation's reseal (`tokenledger rotate-key reseal`) against a PostgreSQL log: N apps
/// registered under one key, then every secret resealed under the next; prints apps per second.
struct ResealBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reseal")

    @Option(help: "A PostgreSQL URL of a database the benchmark may fill.") var postgres: String
    @Option var apps = 5_000

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let log = try PostgresEventLog(url: postgres, logger: logger, timeout: .seconds(60))
        let project = "reseal\(UInt32.random(in: 0...UInt32.max))"
        let oldKey = Sealer.generateKey()
        let old = try Sealer(current: "old", keys: ["old": oldKey])
        let next = try Sealer(current: "next", keys: ["next": Sealer.generateKey(), "old": oldKey])
        let apps = self.apps
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await log.run() }
            defer { group.cancelAll() }
            try await log.migrate()
            print("registering \(apps) apps under the old key…")
            try await withThrowingTaskGroup(of: Void.self) { writers in
                for writer in 0..<8 {
                    writers.addTask {
                        for index in stride(from: writer, to: apps, by: 8) {
                            let stream = try StreamID(project: project, platform: "wechat", appid: "wx\(index)")
                            let payload = CredentialsSet(secret: try old.seal("secret-\(index)", for: stream, as: .secret))
                            _ = try await log.append([try NewEvent(payload, metadata: EventMetadata(node: "bench"))], to: stream, expectedVersion: 0)
                        }
                    }
                }
                try await writers.waitForAll()
            }
            let projector = Projector(log: log, model: MemoryReadModel(sealer: next), logger: logger)
            try await projector.catchUp()
            let ledger = Ledger(log: log, projector: projector, platforms: [:], sealer: next, options: .init(node: "bench"), logger: logger)
            let started = ContinuousClock.now
            let outcome = try await ledger.credentials.reseal(context: CallContext(actor: "bench"))
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            let ours = outcome.resealed.filter { $0.project == project }.count
            print(String(format: "resealed %d apps (%d of this run) in %.2f s: %.0f apps/s", outcome.resealed.count, ours, seconds, Double(outcome.resealed.count) / seconds))
        }
    }
}
