#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// Checkpoints in memory, for tests: a new webhook starts at `start`.
public final class InMemoryWebhookCheckpoints: WebhookCheckpoints {
    private let rows = Mutex<[String: WebhookCheckpoint]>([:])
    private let start: Int64

    /// Empty; a new webhook starts after `start`.
    public init(start: Int64 = 0) {
        self.start = start
    }

    public func checkpoint(of id: String) async throws -> WebhookCheckpoint {
        rows.withLock { rows in
            if let row = rows[id] { return row }
            let row = WebhookCheckpoint(id: id, position: start)
            rows[id] = row
            return row
        }
    }

    public func advance(_ id: String, from expected: Int64, to position: Int64) async throws -> Bool {
        rows.withLock { rows in
            guard let row = rows[id], row.position == expected, !row.isParked else { return false }
            rows[id]?.position = position
            return true
        }
    }

    public func park(_ id: String, at expected: Int64, reason: String) async throws -> Bool {
        rows.withLock { rows in
            guard let row = rows[id], row.position == expected else { return false }
            rows[id] = WebhookCheckpoint(id: id, position: expected, parkedAt: Date(), parkedReason: reason)
            return true
        }
    }

    public func resume(_ id: String, from: Int64?) async throws -> WebhookCheckpoint? {
        rows.withLock { rows in
            guard let position = from.map({ max($0 - 1, 0) }) ?? rows[id]?.position else { return nil }
            let row = WebhookCheckpoint(id: id, position: position)
            rows[id] = row
            return row
        }
    }

    public func all() async throws -> [WebhookCheckpoint] {
        rows.withLock { $0.values.sorted { $0.id < $1.id } }
    }
}
