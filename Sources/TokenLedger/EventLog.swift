/// The ordered, append-only log every other store is a projection of.
///
/// Implementations throw `LedgerError` with `.versionConflict` when `expectedVersion` is not the
/// stream's current version, and `.storeUnavailable` when the store cannot be reached.
public protocol EventLog: Sendable {
    /// Appends `events` to `stream` atomically if its current version is `expectedVersion`
    /// (0 for a new stream), and returns them as recorded.
    func append(_ events: [NewEvent], to stream: StreamID, expectedVersion: Int64) async throws -> [RecordedEvent]

    /// Up to `limit` events of `stream` with a version above `afterVersion`, oldest first.
    func read(stream: StreamID, afterVersion: Int64, limit: Int) async throws -> [RecordedEvent]

    /// Up to `limit` committed events with a position above `position`, in position order.
    ///
    /// Must never return an event at position P while an event below P can still commit:
    /// a reader that has seen P never looks below it again.
    func readAll(after position: Int64, limit: Int) async throws -> [RecordedEvent]

    /// Runs `body` while holding the refresh lock of `stream` across every process sharing
    /// the log. A process that dies while holding it must not block the stream.
    func withRefreshLock<T: Sendable>(on stream: StreamID, _ body: @Sendable () async throws -> T) async throws -> T

    /// Calls `wake` after every (re)connection and whenever new events may have been committed,
    /// until the task is cancelled. A wake-up is a hint, not a delivery: the caller catches up.
    func listen(_ wake: @escaping @Sendable () -> Void) async throws
}

/// Leadership of a shared task (writing one shared read model) among the processes of a log.
public protocol LeaderElection: Sendable {
    /// Runs `body` while this process leads `role`, or returns nil at once if another process
    /// does. Leadership ends when `body` returns, or when this process can no longer prove it
    /// holds it (then `body` is cancelled and this throws). A process that dies while leading
    /// loses leadership within seconds.
    func lead<T: Sendable>(_ role: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T?
}

/// Every role is led by the one process there is (the embedded log, tests).
public struct SoleLeader: LeaderElection {
    /// Creates the election of a single process.
    public init() {}

    public func lead<T: Sendable>(_ role: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T? {
        try await body()
    }
}
