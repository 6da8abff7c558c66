import Synchronization

/// The in-process read model every replica keeps: every stream folded, behind one lock.
///
/// The hot path (`state(of:)`) is one uncontended lock and a dictionary lookup: no actor hop,
/// no allocation beyond copying the state's references.
public final class MemoryReadModel: Sendable {
    private let streams = Mutex<[StreamID: StreamState]>([:])
    private let checkpointValue = Atomic<Int64>(0)
    private let sealer: Sealer

    /// Creates an empty model that opens sealed values with `sealer`.
    public init(sealer: Sealer) {
        self.sealer = sealer
    }

    /// The position of the last event applied.
    public var checkpoint: Int64 { checkpointValue.load(ordering: .acquiring) }

    /// The folded state of `stream`, if any event of it was applied.
    public func state(of stream: StreamID) -> StreamState? {
        streams.withLock { $0[stream] }
    }

    /// Every stream's state (for verify and the scheduler).
    public func allStates() -> [StreamID: StreamState] {
        streams.withLock { $0 }
    }

    /// Applies events in position order; events at or below the checkpoint are skipped.
    public func apply(_ events: [RecordedEvent]) {
        guard !events.isEmpty else { return }
        let last = streams.withLock { streams -> Int64 in
            var checkpoint = checkpointValue.load(ordering: .relaxed)
            for event in events where event.position > checkpoint {
                streams[event.stream, default: StreamState()].apply(event, sealer: sealer)
                checkpoint = event.position
            }
            return checkpoint
        }
        checkpointValue.store(last, ordering: .releasing)
    }
}
