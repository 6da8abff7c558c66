import Synchronization

/// Per-stream refresh locks within one process: what a single-node log offers for
/// `withRefreshLock`, since there is no other process to exclude.
public final class StreamLocks: Sendable {
    private let locks = Mutex<[StreamID: AsyncLock]>([:])

    /// No lock held.
    public init() {}

    /// Runs `body` holding the lock of `stream`.
    public func withLock<T: Sendable>(on stream: StreamID, _ body: @Sendable () async throws -> T) async throws -> T {
        let lock = locks.withLock { locks in
            if let lock = locks[stream] { return lock }
            let lock = AsyncLock()
            locks[stream] = lock
            return lock
        }
        return try await lock.withLock(body)
    }
}

/// In-process wake-ups for a single-node log: `listen` registers until cancelled, `wakeAll`
/// calls every listener after an append.
public final class WakeUps: Sendable {
    private let listeners = Mutex<(next: Int, all: [Int: @Sendable () -> Void])>((0, [:]))

    /// No listener.
    public init() {}

    /// Calls `wake` once now, then after every `wakeAll()`, until the task is cancelled.
    public func listen(_ wake: @escaping @Sendable () -> Void) async throws {
        let id = listeners.withLock { listeners in
            listeners.next += 1
            listeners.all[listeners.next] = wake
            return listeners.next
        }
        defer { _ = listeners.withLock { $0.all.removeValue(forKey: id) } }
        wake()
        while !Task.isCancelled {
            try await Task.sleep(for: .seconds(3600))
        }
    }

    /// Wakes every listener.
    public func wakeAll() {
        for wake in listeners.withLock({ Array($0.all.values) }) { wake() }
    }
}
