import Synchronization
public import TokenLedger

/// An event log that forwards to another and can be taken down, counting what reaches it: for
/// in-process tests of what the ledger does when its log fails, and of what costs a log query.
public final class FaultyLog: EventLog {
    private let base: any EventLog
    private let state = Mutex<(down: Bool, calls: Int)>((false, 0))

    /// Forwards to `base`.
    public init(_ base: any EventLog) {
        self.base = base
    }

    /// Whether every call fails with `.storeUnavailable`.
    public var isDown: Bool {
        get { state.withLock { $0.down } }
        set { state.withLock { $0.down = newValue } }
    }

    /// Calls that reached the log (appends, reads and refresh locks).
    public var calls: Int { state.withLock { $0.calls } }

    private func enter() throws {
        let down = state.withLock { state -> Bool in
            state.calls += 1
            return state.down
        }
        if down { throw LedgerError(.storeUnavailable, "the event log is down (test)") }
    }

    public func append(_ events: [NewEvent], to stream: StreamID, expectedVersion: Int64) async throws -> [RecordedEvent] {
        try enter()
        return try await base.append(events, to: stream, expectedVersion: expectedVersion)
    }

    public func read(stream: StreamID, afterVersion: Int64, limit: Int) async throws -> [RecordedEvent] {
        try enter()
        return try await base.read(stream: stream, afterVersion: afterVersion, limit: limit)
    }

    public func readAll(after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        try enter()
        return try await base.readAll(after: position, limit: limit)
    }

    public func withRefreshLock<T: Sendable>(on stream: StreamID, _ body: @Sendable (any RefreshFence) async throws -> T) async throws -> T {
        try enter()
        return try await base.withRefreshLock(on: stream) { _ in try await body(InProcessFence(log: self)) }
    }

    public func listen(_ wake: @escaping @Sendable () -> Void) async throws {
        try await base.listen(wake)
    }
}
