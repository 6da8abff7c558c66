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
    let sealer: Sealer

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
        contents.withLock { contents in
            var checkpoint = checkpointValue.load(ordering: .relaxed)
            for event in events where event.position > checkpoint {
                contents.streams[event.stream, default: StreamState()].apply(event, sealer: sealer)
                contents.changed.insert(event.stream)
                checkpoint = event.position
            }
            // Under the lock, so that a snapshot's states and position agree.
            checkpointValue.store(checkpoint, ordering: .releasing)
        }
    }

    /// Every stream's state and the position they were folded to, at one instant (a snapshot).
    public func foldedStates() -> (position: Int64, streams: [StreamID: StreamState]) {
        contents.withLock { (checkpointValue.load(ordering: .relaxed), $0.streams) }
    }

    /// Starts an empty model from `streams`, folded up to `position` (a snapshot): every stream
    /// counts as changed. Returns false, and changes nothing, once any event was applied.
    public func restore(_ streams: [StreamID: StreamState], at position: Int64) -> Bool {
        contents.withLock { contents in
            guard checkpointValue.load(ordering: .relaxed) == 0, contents.streams.isEmpty else { return false }
            contents.streams = streams
            contents.changed = Set(streams.keys)
            checkpointValue.store(position, ordering: .releasing)
            return true
        }
    }

    /// The streams changed since the last call, with their states.
    public func drainChanged() -> [(StreamID, StreamState)] {
        contents.withLock { contents in
            defer { contents.changed.removeAll(keepingCapacity: true) }
            return contents.changed.compactMap { stream in contents.streams[stream].map { (stream, $0) } }
        }
    }
}
