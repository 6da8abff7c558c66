import PostgresNIO
import Synchronization

/// Waits for a connection to close, or for the waiting task to be cancelled (a close future's
/// `get()` ignores cancellation, which would keep a task group from ever ending).
enum ConnectionClosure {
    static func wait(for connection: PostgresConnection) async {
        let waiter = Waiter()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                waiter.set(continuation)
                connection.closeFuture.whenComplete { _ in waiter.resume() }
            }
        } onCancel: {
            waiter.resume()
        }
    }

    private final class Waiter: Sendable {
        private let state = Mutex<(continuation: CheckedContinuation<Void, Never>?, done: Bool)>((nil, false))

        func set(_ continuation: CheckedContinuation<Void, Never>) {
            let resumeNow = state.withLock { state -> Bool in
                if state.done { return true }
                state.continuation = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }

        func resume() {
            let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.done = true
                defer { state.continuation = nil }
                return state.continuation
            }
            continuation?.resume()
        }
    }
}
