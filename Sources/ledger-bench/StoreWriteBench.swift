import ArgumentParser
import Foundation
import ReadModelMongo
import ReadModelMySQL
import ReadModelRedis
import TokenLedger

/// The stores' own cost per row, apart from reading the log: N rows made in memory (spread
/// round-robin over many streams, a page holding one row per stream as a replay's page does) are
/// written page by page into each read model given, emptied first; then the same pages again,
/// which the position guard rejects row by row (a replay over a live model).
struct StoreWriteBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "store-writes")

    @Option var redis: String?
    @Option var mysql: String?
    @Option var mongo: String?
    @Option var rows = 100_000
    @Option var streams = 10_000
    @Option(help: "Rows per page written to a model.") var page = 1000

    func run() async throws {
        var models: [any ReadModel] = []
        if let redis { models.append(try RedisReadModel(url: redis, node: "bench", timeout: .seconds(30))) }
        if let mysql { models.append(try MySQLReadModel(url: mysql, node: "bench", timeout: .seconds(30))) }
        if let mongo { models.append(try MongoReadModel(url: mongo, node: "bench", timeout: .seconds(30))) }
        let expiresAt = Date().addingTimeInterval(86_400)
        let pages = try stride(from: 0, to: rows, by: page).map { start in
            try (start..<min(rows, start + page)).map { index in
                ReadModelRow(
                    stream: try StreamID(project: "bench", platform: "wechat", appid: "wx\(index % streams)"),
                    token: "token-\(index / streams)-\(UUID().uuidString)",
                    expiresAt: expiresAt,
                    position: Int64(index + 1)
                )
            }
        }
        for model in models {
            try await model.prepare()
            try await model.reset()
            for pass in ["new", "again"] {
                let started = ContinuousClock.now
                for rows in pages { try await model.apply(rows, checkpoint: rows.last?.position ?? 0) }
                let seconds = (ContinuousClock.now - started) / .seconds(1)
                print(String(format: "store writes %@ (%@): %d rows in %.2f s: %.0f rows/s", model.name, pass, rows, seconds, Double(rows) / seconds))
            }
            await model.shutdown()
        }
    }
}
