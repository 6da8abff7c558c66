import Synchronization

/// The in-process read model every replica keeps: every stream folded, behind one lock.
///
/// The hot path (`state(of:)`) is one uncontended lock and a dictionary lookup: no actor hop,
/// no allocation beyond copying the state's references.
public final class MemoryReadModel: Sendable {
    private struct Contents {
        var streams: [StreamID: StreamState] = [:]
        /// Streams changed since the scheduler last looked: its cost follows what changes.
        var changed: Set<StreamID> = []
    }

    private let contents = Mutex(Contents())
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
        contents.withLock { $0.streams[stream] }
    }

    /// Every stream's state (for verify and the scheduler).
    public func allStates() -> [StreamID: StreamState] {
        contents.withLock { $0.streams }
    }

    /// Applies events in position order; events at or below the checkpoint are skipped.
    public func apply(_ events: [RecordedEvent]) {
        guard !events.isEmpty else { return }
        let last = contents.withLock { contents -> Int64 in
            var checkpoint = checkpointValue.load(ordering: .relaxed)
            for event in events where event.position > checkpoint {
                contents.streams[event.stream, default: StreamState()].apply(event, sealer: sealer)
                contents.changed.insert(event.stream)
                checkpoint = event.position
            }
            return checkpoint
        }
        checkpointValue.store(last, ordering: .releasing)
    }

    /// The streams changed since the last call, with their states.
    public func drainChanged() -> [(StreamID, StreamState)] {
        contents.withLock { contents in
            defer { contents.changed.removeAll(keepingCapacity: true) }
            return contents.changed.compactMap { stream in contents.streams[stream].map { (stream, $0) } }
        }
    }
}
