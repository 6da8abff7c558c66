#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PostgresNIO
public import TokenLedger

/// The webhooks' checkpoints in `webhook_checkpoints` (migration 005), beside the log: every
/// replica sees where each webhook stands and whether it is parked.
extension PostgresEventLog: WebhookCheckpoints {
    public func checkpoint(of id: String) async throws -> WebhookCheckpoint {
        try await guarded("webhook checkpoint") {
            // A new webhook starts at the head: positions are visible in order (see 001), so
            // an append still in flight gets a position above the head and is delivered.
            try await self.client.query(
                """
                INSERT INTO webhook_checkpoints (id, position)
                SELECT \(id), coalesce(max(position), 0) FROM token_events
                WHERE NOT EXISTS (SELECT 1 FROM webhook_checkpoints WHERE id = \(id))
                ON CONFLICT (id) DO NOTHING
                """,
                logger: self.logger
            )
            guard let row = try await self.checkpoints(where: id).first else {
                throw LedgerError(.storeUnavailable, "the checkpoint of webhook \(id) vanished")
            }
            return row
        }
    }

    public func advance(_ id: String, from expected: Int64, to position: Int64) async throws -> Bool {
        try await guarded("webhook advance") {
            let rows = try await self.client.query(
                """
                UPDATE webhook_checkpoints SET position = \(position), updated_at = now()
                WHERE id = \(id) AND position = \(expected) AND parked_at IS NULL
                RETURNING id
                """,
                logger: self.logger
            )
            return try await rows.decode(String.self).reduce(0) { count, _ in count + 1 } == 1
        }
    }

    public func park(_ id: String, at expected: Int64, reason: String) async throws -> Bool {
        try await guarded("webhook park") {
            let rows = try await self.client.query(
                """
                UPDATE webhook_checkpoints SET parked_at = now(), parked_reason = \(reason), updated_at = now()
                WHERE id = \(id) AND position = \(expected)
                RETURNING id
                """,
                logger: self.logger
            )
            return try await rows.decode(String.self).reduce(0) { count, _ in count + 1 } == 1
        }
    }

    public func resume(_ id: String, from: Int64?) async throws -> WebhookCheckpoint? {
        try await guarded("webhook resume") {
            if let from {
                let position = max(from - 1, 0)
                try await self.client.query(
                    """
                    INSERT INTO webhook_checkpoints (id, position) VALUES (\(id), \(position))
                    ON CONFLICT (id) DO UPDATE SET position = \(position), parked_at = NULL, parked_reason = NULL, updated_at = now()
                    """,
                    logger: self.logger
                )
            } else {
                try await self.client.query(
                    "UPDATE webhook_checkpoints SET parked_at = NULL, parked_reason = NULL, updated_at = now() WHERE id = \(id)",
                    logger: self.logger
                )
            }
            return try await self.checkpoints(where: id).first
        }
    }

    public func all() async throws -> [WebhookCheckpoint] {
        try await guarded("webhook checkpoints") { try await self.checkpoints(where: nil) }
    }

    /// The checkpoint of `id`, or every one.
    private func checkpoints(where id: String?) async throws -> [WebhookCheckpoint] {
        let rows = try await client.query(
            """
            SELECT id, position, (extract(epoch FROM parked_at) * 1000)::bigint, parked_reason
            FROM webhook_checkpoints WHERE \(id)::text IS NULL OR id = \(id) ORDER BY id
            """,
            logger: logger
        )
        var found: [WebhookCheckpoint] = []
        for try await (id, position, parkedAt, reason) in rows.decode((String, Int64, Int64?, String?).self) {
            found.append(
                WebhookCheckpoint(id: id, position: position, parkedAt: parkedAt.map { Date(timeIntervalSince1970: Double($0) / 1000) }, parkedReason: reason)
            )
        }
        return found
    }
}
