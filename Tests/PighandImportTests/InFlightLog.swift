import Synchronization
import TokenLedger

/// An event log that forwards to another (its refresh locks and their fences included), counting
/// the appends that reach it and the most of them in flight at once (appends in flight together
/// are the ones a log that group-commits commits together), and that can fail appends.
final class InFlightLog: EventLog {
    private struct State {
        var appending = 0
        var mostAppending = 0
        var appends = 0
        var locked = 0
        var mostLocked = 0
        var fencedAppends = 0
        var failingAfter: Int?
    }

    private let base: any EventLog
    private let state = Mutex(State())

    init(_ base: any EventLog) {
        self.base = base
    }

    /// `append` calls so far.
    var appends: Int { state.withLock { $0.appends } }
    /// The most `append` calls in flight at once.
    var mostAppending: Int { state.withLock { $0.mostAppending } }
    /// Appends through a refresh lock's fence so far.
    var fencedAppends: Int { state.withLock { $0.fencedAppends } }
    /// The most refresh locks held (or waited for) at once.
    var mostLocked: Int { state.withLock { $0.mostLocked } }

    /// From now on, once `count` appends reached the log, the next ones fail with
    /// `.storeUnavailable` (nil: none fails).
    func failAppends(after count: Int?) {
        state.withLock { $0.failingAfter = count }
    }

    func append(_ events: [NewEvent], to stream: StreamID, expectedVersion: Int64) async throws -> [RecordedEvent] {
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

    func read(stream: StreamID, afterVersion: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await base.read(stream: stream, afterVersion: afterVersion, limit: limit)
    }

    func readAll(after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await base.readAll(after: position, limit: limit)
    }

    func lastTokenEventPositions(after position: Int64) async throws -> (positions: [Int64], head: Int64) {
        try await base.lastTokenEventPositions(after: position)
    }

    func readEvents(at positions: [Int64]) async throws -> [RecordedEvent] {
        try await base.readEvents(at: positions)
    }

    func withRefreshLock<T: Sendable>(on stream: StreamID, _ body: @Sendable (any RefreshFence) async throws -> T) async throws -> T {
        state.withLock { state in
            state.locked += 1
            state.mostLocked = max(state.mostLocked, state.locked)
        }
        defer { state.withLock { $0.locked -= 1 } }
        return try await base.withRefreshLock(on: stream) { fence in try await body(CountedFence(fence: fence, log: self)) }
    }

    func listen(_ wake: @escaping @Sendable () -> Void) async throws {
        try await base.listen(wake)
    }

    fileprivate func countFencedAppend() {
        state.withLock { $0.fencedAppends += 1 }
    }
}

/// The base log's fence, counted.
private struct CountedFence: RefreshFence {
    let fence: any RefreshFence
    let log: InFlightLog

    func append(_ events: [NewEvent], to stream: StreamID, expectedVersion: Int64) async throws -> [RecordedEvent] {
        log.countFencedAppend()
        return try await fence.append(events, to: stream, expectedVersion: expectedVersion)
    }
}
