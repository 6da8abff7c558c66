#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
import ReadModelRedis
import ReadModelSupport

/// pighand-token's table seen through its Redis: with `save_model: auto` and Redis configured,
/// pighand-token kept each new token only in Redis (`{project}_{platform}_{appid}`, expiring with
/// the token less its `token_premature_failure`) and left the table's older token in place. A
/// row's token and expiry are taken from Redis where it holds the key, as pighand-token itself
/// read Redis before the table.
public struct PighandRedis: PighandStore {
    public let name: String
    private let rows: any PighandStore
    private let reader: RedisStringReader
    private let now: @Sendable () -> Date

    /// The rows of `rows`, their tokens from the Redis at `url` where it has them.
    public init(_ rows: any PighandStore, url: String, timeout: Duration = .seconds(10), now: @escaping @Sendable () -> Date = { Date() }) throws {
        self.rows = rows
        reader = try RedisStringReader(url: url, timeout: timeout)
        name = "\(rows.name) and \(StoreURL.redacted(url))"
        self.now = now
    }

    public func count() async throws -> Int? {
        try await rows.count()
    }

    public func rows(after cursor: String?, limit: Int) async throws -> (rows: [PighandRow], next: String?) {
        var page = try await rows.rows(after: cursor, limit: limit)
        let keys = page.rows.map { "\($0.projectID ?? "")_\($0.platform ?? "")_\($0.appid ?? "")" }
        let live = try await reader.strings(keys)
        let seconds = now().timeIntervalSince1970
        for (index, found) in live.enumerated() {
            guard let found, let left = found.millisecondsLeft else { continue }
            page.rows[index].accessToken = found.value
            page.rows[index].expiresTime = String(Int64(seconds + Double(left) / 1000))
        }
        return page
    }

    public func close() async {
        await reader.shutdown()
        await rows.close()
    }
}
