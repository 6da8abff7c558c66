/// The streams changed since the scheduler last looked: what it asks of the memory model, so
/// that a tick costs what changed, not what is managed.
public protocol ChangedStreams: Sendable {
    /// The streams changed since the last call, with their states.
    func drainChanged() -> [(StreamID, StreamState)]
}

extension MemoryReadModel: ChangedStreams {}
