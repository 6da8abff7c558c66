import Foundation
import NIOCore
import SQLiteNIO
public import TokenLedger

/// Snapshots of the memory model in the log's file (`memory_snapshots`): the embedded node starts
/// from the newest, as a replica on PostgreSQL does.
extension SQLiteEventLog: MemorySnapshotStore {
    public func latestMemorySnapshot(withState: Bool) async throws -> StoredMemorySnapshot? {
        try await storeErrors {
            let rows = try await self.reader.query(
                """
                SELECT position, format, key_ids, node, CASE WHEN ? THEN state ELSE x'' END AS state, written_at FROM memory_snapshots
                WHERE position <= (SELECT coalesce(max(position), 0) FROM token_events)
                ORDER BY position DESC LIMIT 1
                """,
                [.integer(withState ? 1 : 0)]
            )
            guard let row = rows.first, let position = row.column("position")?.integer, let format = row.column("format")?.integer,
                let keyIDs = row.column("key_ids")?.string, let node = row.column("node")?.string
            else { return nil }
            var state: [UInt8] = []
            if case .blob(let bytes) = row.column("state") { state = Array(bytes.readableBytesView) }
            let writtenAt = row.column("written_at")?.integer.map { Date(timeIntervalSince1970: Double($0) / 1000) }
            return StoredMemorySnapshot(position: Int64(position), format: format, keyIDs: keyIDs, node: node, state: state, writtenAt: writtenAt)
        }
    }

    public func saveMemorySnapshot(_ snapshot: StoredMemorySnapshot, keeping: Int) async throws {
        try await writer.withLock {
            try await self.storeErrors {
                _ = try await self.connection.query("BEGIN IMMEDIATE", [])
                do {
                    _ = try await self.connection.query(
                        "INSERT OR REPLACE INTO memory_snapshots (position, format, key_ids, node, state, written_at) VALUES (?, ?, ?, ?, ?, ?)",
                        [
                            .integer(Int(snapshot.position)), .integer(snapshot.format), .text(snapshot.keyIDs), .text(snapshot.node),
                            .blob(ByteBuffer(bytes: snapshot.state)), .integer(Int(Date().timeIntervalSince1970 * 1000)),
                        ]
                    )
                    _ = try await self.connection.query(
                        "DELETE FROM memory_snapshots WHERE position NOT IN (SELECT position FROM memory_snapshots ORDER BY position DESC LIMIT ?)",
                        [.integer(max(1, keeping))]
                    )
                    _ = try await self.connection.query("COMMIT", [])
                } catch {
                    _ = try? await self.connection.query("ROLLBACK", [])
                    throw error
                }
            }
        }
    }
}
