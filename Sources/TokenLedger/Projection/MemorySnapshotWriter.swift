public import Logging
import Metrics

/// Writes a snapshot of the memory model each time it has folded `every` events past the newest
/// snapshot, on the replica that leads the `memory-snapshot` role: one writer for all replicas.
public struct MemorySnapshotWriter: Sendable {
    /// How many snapshots are kept (the newest, and one before it).
    static let kept = 2
    private let model: MemoryReadModel
    private let store: any MemorySnapshotStore
    private let election: any LeaderElection
    private let every: Int64
    private let interval: Duration
    private let node: String
    private let logger: Logger
    private let written = Counter(label: "tokenledger_memory_snapshots_written_total")
    private let newest = Gauge(label: "tokenledger_memory_snapshot_position")

    /// A writer of snapshots of `model` into `store` every `every` events, looking every `interval`.
    public init(
        model: MemoryReadModel, store: any MemorySnapshotStore, election: any LeaderElection, every: Int64, interval: Duration, node: String,
        logger: Logger
    ) {
        self.model = model
        self.store = store
        self.election = election
        self.every = max(1, every)
        self.interval = interval
        self.node = node
        self.logger = logger
    }

    /// Looks every `interval` until cancelled; a failure is logged and tried again next time.
    public func run() async throws {
        var known: Int64?
        while !Task.isCancelled {
            try await Task.sleep(for: interval)
            do {
                known = try await writeIfDue(newest: known)
            } catch where Task.isCancelled {
                return
            } catch {
                known = nil
                logger.warning("memory snapshot not written", metadata: [LogKey.error: "\(LedgerError.explain(error))"])
            }
        }
    }

    /// Writes a snapshot when the model is `every` events past the newest one (position `newest`,
    /// 0 for none; when nil, the store's is read) and this replica leads; returns the position of
    /// the newest snapshot known afterwards (nil: look again).
    @discardableResult
    public func writeIfDue(newest known: Int64? = nil) async throws -> Int64? {
        let checkpoint = model.checkpoint
        if let known, checkpoint - known < every { return known }
        // Counted from the newest snapshot, even one this replica cannot restore (written with
        // other keys during a rotation): replicas that differ write in turns, every `every` events.
        let stored = try await store.latestMemorySnapshot(withState: false)?.position ?? 0
        if checkpoint - stored < every {
            if stored > 0 { newest.record(stored) }
            return stored
        }
        let position = try await election.lead("memory-snapshot") { [model, store, node] in
            let snapshot = try MemorySnapshot.make(of: model, node: node)
            try await store.saveMemorySnapshot(snapshot, keeping: Self.kept)
            return snapshot.position
        }
        guard let position else { return nil }  // another replica leads: it writes
        written.increment()
        newest.record(position)
        logger.info("memory snapshot written", metadata: ["position": "\(position)"])
        return position
    }
}
