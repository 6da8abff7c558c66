import Synchronization
public import TokenLedger

/// An event log that forwards to another and can be taken down, or have its reads held at a
/// gate, counting what reaches it: for in-process tests of what the ledger does when its log
/// fails, of what costs a log query, and of what callers do while a read is in flight.
public final class FaultyLog: EventLog {
    private struct State {
        var down = false
        var calls = 0
        var reads = 0
        var appends = 0
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let base: any EventLog
    private let state = Mutex(State())

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

    /// `readAll` calls that reached the log.
    public var reads: Int { state.withLock { $0.reads } }

    /// `append` calls that reached the log.
    public var appends: Int { state.withLock { $0.appends } }

    /// `readAll` calls waiting at the gate.
    public var waiting: Int { state.withLock { $0.waiters.count } }

    /// Holds every `readAll` from now on at a gate, until `releaseReads`.
    public func holdReads() {
        state.withLock { $0.held = true }
    }

    /// Lets the held reads, and the ones after them, through.
    public func releaseReads() {
        let waiters = state.withLock { state in
            state.held = false
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func enter() throws {
        let down = state.withLock { state -> Bool in
            state.calls += 1
            return state.down
        }
        if down { throw LedgerError(.storeUnavailable, "the event log is down (test)") }
    }

    public func append(_ events: [NewEvent], to stream: StreamID, expectedVersion: Int64) async throws -> [RecordedEvent] {
        try enter()
        state.withLock { $0.appends += 1 }
        return try await base.append(events, to: stream, expectedVersion: expectedVersion)
    }

    public func read(stream: StreamID, afterVersion: Int64, limit: Int) async throws -> [RecordedEvent] {
        try enter()
        return try await base.read(stream: stream, afterVersion: afterVersion, limit: limit)
    }

    public func readAll(after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        try enter()
        await withCheckedContinuation { continuation in
            let pass = state.withLock { state -> Bool in
                state.reads += 1
                if state.held { state.waiters.append(continuation) }
                return !state.held
            }
            if pass { continuation.resume() }
        }
        return try await base.readAll(after: position, limit: limit)
    }

    public func lastTokenEventPositions(after position: Int64) async throws -> (positions: [Int64], head: Int64) {
        try enter()
        return try await base.lastTokenEventPositions(after: position)
    }

    public func readEvents(at positions: [Int64]) async throws -> [RecordedEvent] {
        try enter()
        return try await base.readEvents(at: positions)
    }

    public func withRefreshLock<T: Sendable>(on stream: StreamID, _ body: @Sendable (any RefreshFence) async throws -> T) async throws -> T {
        try enter()
        return try await base.withRefreshLock(on: stream) { _ in try await body(InProcessFence(log: self)) }
    }

    public func listen(_ wake: @escaping @Sendable () -> Void) async throws {
        try await base.listen(wake)
    }
}
