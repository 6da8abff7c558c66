#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import PostgresNIO
public import TokenLedger

/// Snapshots of the memory model in `memory_snapshots` (migration 007), beside the log.
extension PostgresEventLog: MemorySnapshotStore {
    public func latestMemorySnapshot(withState: Bool) async throws -> StoredMemorySnapshot? {
        try await guarded("read the memory snapshot") {
            // At or below the head: a snapshot past it (the log restored from an older backup
            // than its snapshots) would serve what the log no longer holds.
            let rows = try await self.client.query(
                """
                SELECT position, format, key_ids, node, CASE WHEN \(withState) THEN state ELSE ''::bytea END, written_at
                FROM memory_snapshots
                WHERE position <= (SELECT coalesce(max(position), 0) FROM token_events)
                ORDER BY position DESC LIMIT 1
                """,
                logger: self.logger
            )
            for try await (position, format, keyIDs, node, state, writtenAt) in rows.decode((Int64, Int, String, String, ByteBuffer, Date).self) {
                return StoredMemorySnapshot(
                    position: position, format: format, keyIDs: keyIDs, node: node, state: Array(state.readableBytesView), writtenAt: writtenAt
                )
            }
            return nil
        }
    }

    public func saveMemorySnapshot(_ snapshot: StoredMemorySnapshot, keeping: Int) async throws {
        try await guarded("write the memory snapshot") {
            try await self.transaction { connection in
                try await connection.query(
                    """
                    INSERT INTO memory_snapshots (position, format, key_ids, node, state)
                    VALUES (\(snapshot.position), \(snapshot.format), \(snapshot.keyIDs), \(snapshot.node), \(ByteBuffer(bytes: snapshot.state)))
                    ON CONFLICT (position) DO UPDATE
                    SET format = excluded.format, key_ids = excluded.key_ids, node = excluded.node, state = excluded.state, written_at = now()
                    """,
                    logger: self.logger
                )
                try await connection.query(
                    """
                    DELETE FROM memory_snapshots
                    WHERE position < (SELECT min(position) FROM (SELECT position FROM memory_snapshots ORDER BY position DESC LIMIT \(max(1, keeping))) AS kept)
                    """,
                    logger: self.logger
                )
            }
        }
    }
}
