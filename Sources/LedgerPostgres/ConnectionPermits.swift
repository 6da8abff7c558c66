import Synchronization

/// A bounded number of permits, each for one dedicated PostgreSQL connection (a refresh lock's):
/// however many refreshes callers start, the log never holds more lock connections than this, and
/// a caller that cannot get one within its bound gets an error instead of a connection.
///
/// Hand-written: no package in the mirror list offers an async semaphore with a timed wait.
final class ConnectionPermits: Sendable {
    private struct Waiter {
        var id: Int
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var available: Int
        var waiters: [Waiter] = []
        var nextID = 0
    }

    private let state: Mutex<State>

    /// `count` permits.
    init(_ count: Int) {
        state = Mutex(State(available: max(1, count)))
    }

    /// Permits not in use.
    var available: Int { state.withLock { $0.available } }

    /// Takes a permit, waiting at most `timeout`; returns whether it got one.
    func acquire(timeout: Duration) async -> Bool {
        let (granted, id) = state.withLock { state -> (Bool, Int) in
            if state.available > 0, state.waiters.isEmpty {
                state.available -= 1
                return (true, 0)
            }
            state.nextID += 1
            return (false, state.nextID)
        }
        if granted { return true }
        return await withTaskGroup(of: Bool?.self) { group in
            group.addTask { await self.wait(id) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            if let first { return first }
            // The timer fired first: the waiter ends now, granted (just in time) or not.
            let last = await group.next() ?? nil
            return last ?? false
        }
    }

    /// Gives a permit back, to the longest waiter if there is one.
    func release() {
        let next = state.withLock { state -> Waiter? in
            if state.waiters.isEmpty {
                state.available += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.continuation.resume(returning: true)
    }

    private func wait(_ id: Int) async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let cancelled = Task.isCancelled
                let grantedNow = state.withLock { state -> Bool? in
                    if state.available > 0, state.waiters.isEmpty {
                        state.available -= 1
                        return true
                    }
                    // Cancelled before waiting: the cancellation handler has already run.
                    if cancelled { return false }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let grantedNow { continuation.resume(returning: grantedNow) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(returning: false)
        }
    }
}
