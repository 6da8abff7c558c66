#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A snapshot of the memory model: every stream folded up to a position, sealed. A replica that
/// starts restores the newest one and reads only the events after it, so its start follows the
/// number of apps and what happened since the snapshot, not the age of the log.
///
/// A snapshot is derived, never the record: the log is. It is used only when it is exactly what
/// replaying the log would fold here, so it is passed over (and the log replayed from its start)
/// when it was folded by code of another `format`, with another set of keys (a key removed makes
/// streams unreadable that a snapshot folded with it would still serve), or when it does not open.
public struct StoredMemorySnapshot: Sendable, Equatable {
    /// The position of the last event folded into it.
    public var position: Int64
    /// `MemorySnapshot.format` of the code that folded it.
    public var format: Int
    /// The ids of the keys it was folded with, sorted, comma-separated.
    public var keyIDs: String
    /// The replica that wrote it.
    public var node: String
    /// The streams' states, sealed (empty when read without them).
    public var state: [UInt8]
    /// When it was written (as the store read it back; nil before it is saved).
    public var writtenAt: Date?

    /// Creates a stored snapshot.
    public init(position: Int64, format: Int, keyIDs: String, node: String, state: [UInt8], writtenAt: Date? = nil) {
        self.position = position
        self.format = format
        self.keyIDs = keyIDs
        self.node = node
        self.state = state
        self.writtenAt = writtenAt
    }
}

/// Where snapshots of the memory model are kept: beside the log (`memory_snapshots` in the
/// PostgreSQL database or the SQLite file).
public protocol MemorySnapshotStore: Sendable {
    /// The newest snapshot at or below the log's head; its `state` is read only `withState`.
    func latestMemorySnapshot(withState: Bool) async throws -> StoredMemorySnapshot?
    /// Saves `snapshot` (in place of one at its position: folded by other code or keys, since the
    /// same code and keys fold the same events alike) and deletes all but the newest `keeping`.
    func saveMemorySnapshot(_ snapshot: StoredMemorySnapshot, keeping: Int) async throws
}

/// Making and opening snapshots of the memory model.
public enum MemorySnapshot {
    /// The version of the fold (`StreamState.apply`) and of this encoding: raised whenever either
    /// changes, so that a snapshot folded by other code is replayed from the log instead.
    public static let format = 1
    static let purpose = "memory-snapshot"

    /// The model's streams at one instant, sealed with a key derived from the current key, bound
    /// to the position, format and key ids stored beside it (none can be altered unnoticed).
    public static func make(of model: MemoryReadModel, node: String) throws -> StoredMemorySnapshot {
        let (position, streams) = model.foldedStates()
        let keyIDs = model.sealer.keyIDs.joined(separator: ",")
        let sealed = try model.sealer.seal(bytes: encode(streams), purpose: purpose, context: context(position: position, format: format, keyIDs: keyIDs))
        return StoredMemorySnapshot(position: position, format: format, keyIDs: keyIDs, node: node, state: sealed)
    }

    /// Why `stored` cannot be restored with `sealer`, or nil when it can (its header only).
    public static func refusal(of stored: StoredMemorySnapshot, sealer: Sealer) -> String? {
        if stored.format != format { return "it was folded by code of format \(stored.format), this is \(format)" }
        let keyIDs = sealer.keyIDs.joined(separator: ",")
        if stored.keyIDs != keyIDs { return "it was folded with keys [\(stored.keyIDs)], this replica has [\(keyIDs)]" }
        return nil
    }

    /// The streams of `stored`, opened with `sealer`; throws why it cannot be restored.
    public static func open(_ stored: StoredMemorySnapshot, sealer: Sealer) throws -> [StreamID: StreamState] {
        if let refusal = refusal(of: stored, sealer: sealer) { throw LedgerError(.corruptEvent, refusal) }
        let plain = try sealer.open(
            bytes: stored.state, purpose: purpose, context: context(position: stored.position, format: stored.format, keyIDs: stored.keyIDs)
        )
        let streams = try decode(plain)
        if let ahead = streams.first(where: { $0.value.position > stored.position }) {
            throw LedgerError(.corruptEvent, "stream \(ahead.key) is folded past the snapshot's position \(stored.position)")
        }
        return streams
    }

    /// The streams whose state in `stored` differs from `log` folded from its start up to the
    /// snapshot's position (`tokenledger verify`); throws why it cannot be restored here.
    public static func differences(of stored: StoredMemorySnapshot, in log: any EventLog, sealer: Sealer, pageSize: Int = 1000) async throws -> [StreamID] {
        let restored = try open(stored, sealer: sealer)
        let folded = MemoryReadModel(sealer: sealer)
        var position: Int64 = 0
        while position < stored.position {
            let page = try await log.readAll(after: position, limit: pageSize)
            guard let last = page.last else { break }
            folded.apply(page.filter { $0.position <= stored.position })
            position = last.position
        }
        let streams = folded.allStates()
        return Set(streams.keys).union(restored.keys).filter { streams[$0] != restored[$0] }.sorted { $0.description < $1.description }
    }

    private static func context(position: Int64, format: Int, keyIDs: String) -> [UInt8] {
        Array("\(purpose)\n\(format)\n\(position)\n\(keyIDs)".utf8)
    }
}
