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

    /// The log's head (its last committed position, at least `position`) and, in ascending order,
    /// the position of the last event of each stream that decides its served token
    /// (`EventType.decidesServedToken`) among the events after `position` up to that head: what a
    /// shared read model needs to go from `position` to the head (`StoreProjector`'s catch-up).
    /// Like `readAll`, it never counts a position below which an event can still commit.
    func lastTokenEventPositions(after position: Int64) async throws -> (positions: [Int64], head: Int64)

    /// The events at `positions` (ascending, each one a committed event's), in position order.
    func readEvents(at positions: [Int64]) async throws -> [RecordedEvent]

    /// Runs `body` while holding the refresh lock of `stream` across every process sharing
    /// the log. A process that dies while holding it must not block the stream.
    ///
    /// `body` appends the outcome of its platform call through the fence it is given: such an
    /// append is valid only while the lock is held (it becomes visible when the lock is released)
    /// and fails with `.lockLost` if the lock was lost meanwhile, so a refresh that lost its lock
    /// never makes its token current. Waiting for the lock is bounded (`.storeUnavailable` past it).
    func withRefreshLock<T: Sendable>(on stream: StreamID, _ body: @Sendable (any RefreshFence) async throws -> T) async throws -> T

    /// Calls `wake` after every (re)connection and whenever new events may have been committed,
    /// until the task is cancelled. A wake-up is a hint, not a delivery: the caller catches up.
    func listen(_ wake: @escaping @Sendable () -> Void) async throws
}

extension EventLog {
    /// Reads the log from `position` to its head through `readAll` (logs that can ask their
    /// store for less do).
    public func lastTokenEventPositions(after position: Int64) async throws -> (positions: [Int64], head: Int64) {
        var last: [StreamID: Int64] = [:]
        var head = position
        while let final = try await scan(after: head, { event in if event.type.decidesServedToken { last[event.stream] = event.position } }) {
            head = final
        }
        return (last.values.sorted(), head)
    }

    /// Reads the span `positions` covers through `readAll`, keeping the events asked for.
    public func readEvents(at positions: [Int64]) async throws -> [RecordedEvent] {
        guard let first = positions.first, let last = positions.last else { return [] }
        let wanted = Set(positions)
        var found: [RecordedEvent] = []
        var after = first - 1
        while after < last, let final = try await scan(after: after, { event in if wanted.contains(event.position) { found.append(event) } }) {
            after = final
        }
        return found
    }

    /// Passes one page of events after `position` to `body`; returns the page's last position, nil at the head.
    private func scan(after position: Int64, _ body: (RecordedEvent) -> Void) async throws -> Int64? {
        let events = try await readAll(after: position, limit: 1000)
        events.forEach(body)
        return events.last?.position
    }
}

/// Appends made under a refresh lock, valid only while the lock is held.
public protocol RefreshFence: Sendable {
    /// Appends as `EventLog.append` does, but only while the lock is held: throws `.lockLost`
    /// (and appends nothing) once it is not. The events become visible when the lock is released.
    func append(_ events: [NewEvent], to stream: StreamID, expectedVersion: Int64) async throws -> [RecordedEvent]
}

/// The fence of a log whose refresh locks live in this process and cannot be lost while it runs
/// (the embedded and in-memory logs): appends go straight to the log.
public struct InProcessFence: RefreshFence {
    let log: any EventLog

    /// The fence of `log`.
    public init(log: any EventLog) {
        self.log = log
    }

    public func append(_ events: [NewEvent], to stream: StreamID, expectedVersion: Int64) async throws -> [RecordedEvent] {
        try await log.append(events, to: stream, expectedVersion: expectedVersion)
    }
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
