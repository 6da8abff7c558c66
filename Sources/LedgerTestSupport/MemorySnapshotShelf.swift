import Synchronization
public import TokenLedger

/// Snapshots kept in memory, as `memory_snapshots` keeps them; reads can be made to fail.
public final class MemorySnapshotShelf: MemorySnapshotStore {
    /// An empty shelf.
    public init() {}

    private let state = Mutex<(saved: [StoredMemorySnapshot], failing: Bool, reads: Int)>(([], false, 0))

    /// Every snapshot kept, oldest first.
    public var saved: [StoredMemorySnapshot] { state.withLock { $0.saved } }
    /// Reads of the newest so far.
    public var reads: Int { state.withLock { $0.reads } }
    /// Whether reads fail as a store that went away.
    public var failing: Bool {
        get { state.withLock { $0.failing } }
        set { state.withLock { $0.failing = newValue } }
    }

    public func latestMemorySnapshot(withState: Bool) async throws -> StoredMemorySnapshot? {
        try state.withLock { state in
            guard !state.failing else { throw LedgerError(.storeUnavailable, "the snapshot store is down") }
            state.reads += 1
            guard var newest = state.saved.max(by: { $0.position < $1.position }) else { return nil }
            if !withState { newest.state = [] }
            return newest
        }
    }

    public func saveMemorySnapshot(_ snapshot: StoredMemorySnapshot, keeping: Int) async throws {
        state.withLock { state in
            state.saved.removeAll { $0.position == snapshot.position }
            state.saved.append(snapshot)
            state.saved = Array(state.saved.sorted { $0.position > $1.position }.prefix(keeping)).reversed()
        }
    }
}
