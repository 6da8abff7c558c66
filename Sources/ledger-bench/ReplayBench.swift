import ArgumentParser
import Foundation
import LedgerPostgres
import Logging
import ReadModelMongo
import ReadModelMySQL
import ReadModelRedis
import TokenLedger

/// Appends N token events to a PostgreSQL log (spread round-robin over many streams, so that
/// every page of the replay writes as many rows as it has events), then replays each read model
/// given from zero and prints events per second.
struct ReplayBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replay")

    @Option(help: "A PostgreSQL URL of a database the benchmark may fill.") var postgres: String
    @Option var redis: String?
    @Option var mysql: String?
    @Option var mongo: String?
    @Option var events = 100_000
    @Option var streams = 10_000
    @Option(help: "Events per page read from the log and written to a model.") var page = 1000
    @Option(help: "Concurrent appenders.") var writers = 8
    @Flag(help: "Only append (no replay).") var appendOnly = false

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let log = try PostgresEventLog(url: postgres, logger: logger, timeout: .seconds(60))
        let sealer = try Sealer(current: "bench", keys: ["bench": "YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtMDE="])
        let events = self.events, streams = self.streams, writers = self.writers, page = self.page
        var models: [any ReadModel] = []
        if let redis { models.append(try RedisReadModel(url: redis, node: "bench", timeout: .seconds(30))) }
        if let mysql { models.append(try MySQLReadModel(url: mysql, node: "bench", timeout: .seconds(30))) }
        if let mongo { models.append(try MongoReadModel(url: mongo, node: "bench", timeout: .seconds(30))) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await log.run() }
            defer { group.cancelAll() }
            try await log.migrate()
            var have = 0
            var position: Int64 = 0
            while let last = try await log.readAll(after: position, limit: 10_000).last {
                position = last.position
                have += 10_000
            }
            if position < Int64(events) {
                print("appending \(events) token events over \(streams) streams (\(writers) writers)…")
                let started = ContinuousClock.now
                // Each writer owns the streams s ≡ w (mod writers) and appends round by round, so
                // that positions interleave the streams and versions stay in order.
                let rounds = (events + streams - 1) / streams
                try await withThrowingTaskGroup(of: Void.self) { appenders in
                    for writer in 0..<writers {
                        appenders.addTask {
                            for round in 0..<rounds {
                                for index in stride(from: writer, to: streams, by: writers) where round * streams + index < events {
                                    let stream = try StreamID(project: "bench", platform: "wechat", appid: "wx\(index)")
                                    let payload = TokenIssued(
                                        token: try sealer.seal("token-\(round)-\(UUID().uuidString)", for: stream, as: .token),
                                        expiresAt: Date().addingTimeInterval(86_400),
                                        reason: .scheduled,
                                        upstreamLatencyMs: 1
                                    )
                                    _ = try await log.append(
                                        [try NewEvent(payload, metadata: EventMetadata(node: "bench"))],
                                        to: stream,
                                        expectedVersion: Int64(round)
                                    )
                                }
                            }
                        }
                    }
                    try await appenders.waitForAll()
                }
                let seconds = (ContinuousClock.now - started) / .seconds(1)
                print(String(format: "appended %d events in %.1f s: %.0f events/s", events, seconds, Double(events) / seconds))
            }
            if appendOnly { return }
            do {
                // Replay into memory alone (what every replica does at start): read, decode, open, fold.
                let memory = MemoryReadModel(sealer: sealer)
                let projector = Projector(log: log, model: memory, pageSize: page, logger: logger)
                let started = ContinuousClock.now
                let checkpoint = try await projector.catchUp()
                let seconds = (ContinuousClock.now - started) / .seconds(1)
                print(String(format: "replay memory: %d events to position %lld in %.2f s: %.0f events/s", events, checkpoint, seconds, Double(events) / seconds))
                // Where the time goes: the same pages read, then folded, one stage at a time (the
                // projector reads the next page while it folds one).
                let folded = MemoryReadModel(sealer: sealer)
                var folding = Duration.zero
                let reading = try await readPages(of: log) { page in
                    let mark = ContinuousClock.now
                    folded.apply(page)
                    folding += ContinuousClock.now - mark
                }
                print("  stages: read the log \(reading), decode, open and fold \(folding)")
                try await startFromSnapshot(log: log, sealer: sealer, folded: folded)
            }
            if !models.isEmpty {
                // What a store's catch-up asks the log first: each stream's last token event.
                let mark = ContinuousClock.now
                let (positions, head) = try await log.lastTokenEventPositions(after: 0)
                print("last token events: \(positions.count) streams' up to position \(head), found in \(ContinuousClock.now - mark)")
            }
            for model in models {
                let projector = StoreProjector(
                    model: model,
                    log: log,
                    election: SoleLeader(),
                    sealer: sealer,
                    wakes: WakeSignal(),
                    pageSize: page,
                    logger: logger
                )
                try await model.prepare()
                let started = ContinuousClock.now
                let checkpoint = try await projector.replay(from: nil)
                let seconds = (ContinuousClock.now - started) / .seconds(1)
                let rows = try await model.snapshot().rows.count
                print(String(format: "replay %@: %d events to position %lld in %.2f s: %.0f events/s (%d rows)", model.name, events, checkpoint, seconds, Double(events) / seconds, rows))
                // Where the time goes when every event is written (following the log page by page,
                // as a store does once caught up): the same pages read, opened and written one stage at a time.
                var (opening, writing) = (Duration.zero, Duration.zero)
                let reading = try await readPages(of: log) { page in
                    var mark = ContinuousClock.now
                    let rows = ReadModelRow.rows(for: page, sealer: sealer)
                    opening += ContinuousClock.now - mark
                    mark = ContinuousClock.now
                    try await model.apply(rows, checkpoint: page.last?.position ?? 0)
                    writing += ContinuousClock.now - mark
                }
                print("  every event, page by page, one stage at a time: read the log \(reading), decode and open \(opening), write \(model.name) \(writing)")
            }
        }
    }

    /// Reads the whole log page by page, one page at a time, and hands each to `body`; returns the
    /// time spent reading (`body` times its own stages).
    /// What a replica's start costs with snapshots (`eventlog.snapshot_every`): a snapshot of the
    /// fold at 90 % of the log, written as the writer writes it, then restored by a new projector,
    /// which reads the remaining 10 % from the log.
    private func startFromSnapshot(log: PostgresEventLog, sealer: Sealer, folded: MemoryReadModel) async throws {
        let head = folded.checkpoint
        let at = head - head / 10
        let partial = MemoryReadModel(sealer: sealer)
        _ = try await readPages(of: log) { page in partial.apply(page.filter { $0.position <= at }) }
        var mark = ContinuousClock.now
        let snapshot = try MemorySnapshot.make(of: partial, node: "bench")
        let making = ContinuousClock.now - mark
        try await log.saveMemorySnapshot(snapshot, keeping: 2)
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let model = MemoryReadModel(sealer: sealer)
        let projector = Projector(log: log, model: model, snapshots: log, pageSize: page, logger: logger)
        mark = ContinuousClock.now
        let checkpoint = try await projector.catchUp()
        let seconds = (ContinuousClock.now - mark) / .seconds(1)
        guard projector.restoredFrom == at, model.allStates() == folded.allStates() else {
            throw ValidationError("the model started from the snapshot differs from the one replayed")
        }
        print(
            String(
                format: "start from a snapshot at %lld (%d streams, %.1f MB sealed) and %lld events after it: to position %lld in %.3f s: %.0f events/s",
                at, partial.allStates().count, Double(snapshot.state.count) / 1_000_000, head - at, checkpoint, seconds, Double(head) / seconds
            )
        )
        print("  making the snapshot took \(making); the model equals the one replayed from the start")
        // Where the start's time goes: reading the snapshot, opening and decoding it (the rest: the events after it).
        mark = ContinuousClock.now
        guard let stored = try await log.latestMemorySnapshot(withState: true) else { throw ValidationError("the snapshot written is gone") }
        let reading = ContinuousClock.now - mark
        mark = ContinuousClock.now
        _ = try MemorySnapshot.open(stored, sealer: sealer)
        print("  stages: read the snapshot \(reading), open and decode it \(ContinuousClock.now - mark)")
    }

    private func readPages(of log: PostgresEventLog, _ body: ([RecordedEvent]) async throws -> Void) async throws -> Duration {
        var reading = Duration.zero
        var position: Int64 = 0
        while true {
            let mark = ContinuousClock.now
            let events = try await log.readAll(after: position, limit: page)
            reading += ContinuousClock.now - mark
            guard let last = events.last else { return reading }
            try await body(events)
            position = last.position
        }
    }

}
