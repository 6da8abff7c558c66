import Synchronization

/// Per-stream refresh locks within one process: what a single-node log offers for
/// `withRefreshLock`, since there is no other process to exclude. A stream's lock exists only
/// while someone holds or awaits it, so ids asked once leave nothing behind.
public final class StreamLocks: Sendable {
    private let locks = Mutex<[StreamID: (lock: AsyncLock, users: Int)]>([:])

    /// No lock held.
    public init() {}

    /// Runs `body` holding the lock of `stream`.
    public func withLock<T: Sendable>(on stream: StreamID, _ body: @Sendable () async throws -> T) async throws -> T {
        let lock = locks.withLock { locks in
            let entry = locks[stream] ?? (AsyncLock(), 0)
            locks[stream] = (entry.lock, entry.users + 1)
            return entry.lock
        }
        defer {
            locks.withLock { locks in
                guard let entry = locks[stream] else { return }
                locks[stream] = entry.users > 1 ? (entry.lock, entry.users - 1) : nil
            }
        }
        return try await lock.withLock(body)
    }

    /// How many streams have a lock held or awaited (tests check that nothing accumulates).
    public var count: Int { locks.withLock { $0.count } }
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

/// A broadcast "something may have changed" within one process: the memory projector signals
/// it when it applied events, the store projectors wait on it (instead of one LISTEN each).
public final class WakeSignal: Sendable {
    private let subscribers = Mutex<[ObjectIdentifier: WakeSubscription]>([:])

    /// No subscriber.
    public init() {}

    /// A subscription that sees every signal sent from now until it is released.
    public func subscribe() -> WakeSubscription {
        let subscription = WakeSubscription(signal: self)
        subscribers.withLock { $0[ObjectIdentifier(subscription)] = subscription }
        return subscription
    }

    /// Wakes every subscriber (a subscriber not waiting sees it on its next wait).
    public func signal() {
        for subscriber in subscribers.withLock({ Array($0.values) }) { subscriber.signal() }
    }

    fileprivate func remove(_ subscription: WakeSubscription) {
        _ = subscribers.withLock { $0.removeValue(forKey: ObjectIdentifier(subscription)) }
    }
}

/// One subscriber's view of a `WakeSignal`.
public final class WakeSubscription: Sendable {
    private struct State {
        var pending = false
        var cancelled = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    private let source: WakeSignal

    fileprivate init(signal: WakeSignal) {
        self.source = signal
    }

    /// Stops receiving signals; a wait in progress, and every later one, returns at once.
    public func cancel() {
        source.remove(self)
        state.withLock { $0.cancelled = true }
        resumeWaiter()
    }

    fileprivate func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns at the next signal (or at once if one came since the last wait), after `timeout`,
    /// or when the task is cancelled.
    public func next(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending || state.cancelled || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            resumeWaiter()
        }
    }

    private func resumeWaiter() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
