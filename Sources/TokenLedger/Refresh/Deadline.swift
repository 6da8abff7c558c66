import Synchronization

/// Bounds a wait on something that cannot be cancelled in time.
///
/// A task group cannot do it: it waits for every child before returning, and a PostgreSQL query
/// once sent, or a blocking C call, does not end when its task is cancelled. Here the work runs
/// in a task of its own; at the deadline the caller gets `onTimeout`'s error at once, the work is
/// cancelled (a connection lease still waiting is withdrawn) and left to end on its own.
public enum Deadline {
    /// `body`'s value, or `onTimeout()` thrown once `duration` has passed. `abandon`, if given, is
    /// handed a function that ends the wait at once with an error (e.g. when the connection the
    /// work runs on closes: a query on it would otherwise wait for the deadline).
    public static func run<T: Sendable>(
        within duration: Duration,
        onTimeout: @escaping @Sendable () -> any Error,
        abandon: (@Sendable (@escaping @Sendable (any Error) -> Void) -> Void)? = nil,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let outcome = Outcome<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let work = Task {
                    do {
                        outcome.finish(.success(try await body()))
                    } catch {
                        outcome.finish(.failure(error))
                    }
                }
                let timer = Task {
                    try? await Task.sleep(for: duration)
                    if !Task.isCancelled { outcome.finish(.failure(onTimeout())) }
                }
                outcome.start(continuation, work: work, timer: timer)
                abandon? { error in outcome.finish(.failure(error)) }
            }
        } onCancel: {
            outcome.finish(.failure(CancellationError()))
        }
    }

    /// The first of the work's result, the deadline and the caller's cancellation wins.
    private final class Outcome<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T, any Error>?
            var early: Result<T, any Error>?
            var tasks: [Task<Void, Never>] = []
            var done = false
        }

        private let state = Mutex(State())

        func start(_ continuation: CheckedContinuation<T, any Error>, work: Task<Void, Never>, timer: Task<Void, Never>) {
            let early = state.withLock { state -> Result<T, any Error>? in
                state.tasks = [work, timer]
                if let early = state.early {
                    state.done = true
                    return early
                }
                state.continuation = continuation
                return nil
            }
            if let early {
                work.cancel()
                timer.cancel()
                continuation.resume(with: early)
            }
        }

        func finish(_ result: Result<T, any Error>) {
            let (continuation, tasks) = state.withLock { state -> (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) in
                guard !state.done else { return (nil, []) }
                guard let continuation = state.continuation else {
                    if state.early == nil { state.early = result }
                    return (nil, [])
                }
                state.done = true
                state.continuation = nil
                return (continuation, state.tasks)
            }
            guard let continuation else { return }
            for task in tasks { task.cancel() }
            continuation.resume(with: result)
        }
    }
}
