import Synchronization
public import TokenLedger

/// An event log that forwards to another and can be taken down, fail its appends past a count,
/// or have its reads held at a gate, counting what reaches it and what is in flight at once: for
/// tests of what the ledger does when its log fails, of what costs a log query, of what callers do
/// while a read is in flight, and of what reaches the log together (a log that group-commits
/// commits appends in flight together). Refresh locks are the base log's, and so are their fences.
public final class FaultyLog: EventLog {
    private struct State {
        var down = false
        var calls = 0
        var reads = 0
        var appends = 0
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var appending = 0
        var mostAppending = 0
        var locked = 0
        var mostLocked = 0
        var fencedAppends = 0
        var failingAfter: Int?
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

    /// The most `append` calls in flight at once.
    public var mostAppending: Int { state.withLock { $0.mostAppending } }

    /// Appends through a refresh lock's fence so far (not counted in `appends`).
    public var fencedAppends: Int { state.withLock { $0.fencedAppends } }

    /// The most refresh locks held (or waited for) at once.
    public var mostLocked: Int { state.withLock { $0.mostLocked } }

    /// From now on, once `count` appends reached the log, the next ones fail with
    /// `.storeUnavailable` (nil: none fails). Fenced appends are not limited.
    public func failAppends(after count: Int?) {
        state.withLock { $0.failingAfter = count }
    }

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
        let failing = state.withLock { state -> Bool in
            if let limit = state.failingAfter, state.appends >= limit { return true }
            state.appends += 1
            state.appending += 1
            state.mostAppending = max(state.mostAppending, state.appending)
            return false
        }
        if failing { throw LedgerError(.storeUnavailable, "the event log is down (test)") }
        defer { state.withLock { $0.appending -= 1 } }
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
        state.withLock { state in
            state.locked += 1
            state.mostLocked = max(state.mostLocked, state.locked)
        }
        defer { state.withLock { $0.locked -= 1 } }
        return try await base.withRefreshLock(on: stream) { fence in try await body(CountedFence(fence: fence, log: self)) }
    }

    public func listen(_ wake: @escaping @Sendable () -> Void) async throws {
        try await base.listen(wake)
    }

    /// A fenced append: fails while the log is down, and is counted.
    fileprivate func enterFenced() throws {
        try enter()
        state.withLock { $0.fencedAppends += 1 }
    }
}

/// The base log's fence, failing while the log is down, and counted.
private struct CountedFence: RefreshFence {
    let fence: any RefreshFence
    let log: FaultyLog

    func append(_ events: [NewEvent], to stream: StreamID, expectedVersion: Int64) async throws -> [RecordedEvent] {
        try log.enterFenced()
        return try await fence.append(events, to: stream, expectedVersion: expectedVersion)
    }
}
