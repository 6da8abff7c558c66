import Synchronization
import TokenLedger

/// The appends waiting in this process, committed together: one statement (its own transaction,
/// one append lock, one NOTIFY, one commit) for all of them, each with its own version check and its own answer
/// (a conflict fails that append only). At most two batches are in flight (the second waits for
/// the append lock in PostgreSQL, not for a round trip); appends that arrive meanwhile make the
/// next one, so the batch grows with the load and a lone append waits for nothing.
final class GroupCommit: Sendable {
    /// One append: events for a stream expected at a version.
    struct Append: Sendable {
        let events: [NewEvent]
        let stream: StreamID
        let expectedVersion: Int64
    }

    /// One append waiting for its batch.
    struct Pending: Sendable {
        let append: Append
        let continuation: CheckedContinuation<[RecordedEvent], any Error>
    }

    private struct State {
        var queue: [Pending] = []
        var committers = 0
    }

    private let state = Mutex(State())
    /// The most events a batch takes (an append larger than this goes alone).
    let maximumEvents: Int

    /// The most batches in flight: while one holds the append lock the next one is on its way.
    let maximumCommitters: Int

    init(maximumEvents: Int = 256, maximumCommitters: Int = 2) {
        self.maximumEvents = maximumEvents
        self.maximumCommitters = maximumCommitters
    }

    /// Queues `pending`; true when fewer than `maximumCommitters` batches are being committed, so
    /// the caller must start committing.
    func submit(_ pending: Pending) -> Bool {
        state.withLock { state in
            state.queue.append(pending)
            guard state.committers < maximumCommitters else { return false }
            state.committers += 1
            return true
        }
    }

    /// The next batch, oldest first, up to `maximumEvents` events; empty (and the caller is no
    /// committer any more) when nothing waits.
    func next() -> [Pending] {
        state.withLock { state in
            guard !state.queue.isEmpty else {
                state.committers -= 1
                return []
            }
            var events = 0
            var count = 0
            for pending in state.queue {
                if count > 0 && events + pending.append.events.count > maximumEvents { break }
                events += pending.append.events.count
                count += 1
            }
            let batch = Array(state.queue.prefix(count))
            state.queue.removeFirst(count)
            return batch
        }
    }
}
