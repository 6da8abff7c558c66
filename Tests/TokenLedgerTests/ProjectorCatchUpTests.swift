import Foundation
import LedgerTestSupport
import Logging
import Synchronization
import Testing
import TokenLedger

/// Callers that catch up at once share catch-ups, and each still sees what was committed before it called.
struct ProjectorCatchUpTests {
    static let sealer = try! Sealer(current: "k", keys: ["k": Sealer.generateKey()])

    static func append(_ log: any EventLog, _ index: Int) async throws -> Int64 {
        let stream = try StreamID(project: "p", platform: "wechat", appid: "wx\(index)")
        let payload = CredentialsSet(secret: try sealer.seal("s\(index)", for: stream, as: .secret))
        return try await log.append([try NewEvent(payload, metadata: EventMetadata(node: "t"))], to: stream, expectedVersion: 0)[0].position
    }

    @Test(.timeLimit(.minutes(1)))
    func callersQueuedBehindACatchUpShareTheNextAndEachSeesItsOwnAppend() async throws {
        let log = GatedLog(InMemoryEventLog())
        let projector = Projector(log: log, model: MemoryReadModel(sealer: Self.sealer), logger: Logger(label: "test"))
        _ = try await Self.append(log, 0)
        // A catch-up held inside its read of the log, while 20 writers append and catch up behind it.
        log.hold()
        let first = Task { try await projector.catchUp() }
        #expect(await eventually { log.waiting == 1 })
        let writers = (1...20).map { index in
            Task { () -> Bool in
                let position = try await Self.append(log, index)
                try await projector.catchUp()
                let stream = try StreamID(project: "p", platform: "wechat", appid: "wx\(index)")
                return projector.model.checkpoint >= position && projector.model.state(of: stream) != nil
            }
        }
        #expect(await eventually { log.appends == 21 })
        try await Task.sleep(for: .milliseconds(200))  // each writer is now in its catch-up, behind the first
        let readsBefore = log.reads
        log.release()
        _ = try await first.value
        for writer in writers { #expect(try await writer.value, "a writer's catch-up shows its own append") }
        #expect(log.reads - readsBefore <= 4, "the queued writers shared a catch-up (twenty reads without sharing): \(log.reads - readsBefore) reads")
        #expect(projector.model.checkpoint == 21)

        // Alone, each call still reads: an append after a catch-up is seen by the next one.
        let late = try await Self.append(log, 21)
        #expect(try await projector.catchUp() == late)
    }
}

/// A log whose reads can be held at a gate, counting reads and appends.
final class GatedLog: EventLog {
    private let base: any EventLog
    private struct State {
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var reads = 0
        var appends = 0
    }
    private let state = Mutex(State())

    init(_ base: any EventLog) { self.base = base }

    var reads: Int { state.withLock { $0.reads } }
    var appends: Int { state.withLock { $0.appends } }
    var waiting: Int { state.withLock { $0.waiters.count } }

    func hold() { state.withLock { $0.held = true } }

    func release() {
        let waiters = state.withLock { state in
            state.held = false
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func append(_ events: [NewEvent], to stream: StreamID, expectedVersion: Int64) async throws -> [RecordedEvent] {
        state.withLock { $0.appends += 1 }
        return try await base.append(events, to: stream, expectedVersion: expectedVersion)
    }

    func read(stream: StreamID, afterVersion: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await base.read(stream: stream, afterVersion: afterVersion, limit: limit)
    }

    func readAll(after position: Int64, limit: Int) async throws -> [RecordedEvent] {
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

    func withRefreshLock<T: Sendable>(on stream: StreamID, _ body: @Sendable (any RefreshFence) async throws -> T) async throws -> T {
        try await base.withRefreshLock(on: stream) { _ in try await body(InProcessFence(log: self)) }
    }

    func listen(_ wake: @escaping @Sendable () -> Void) async throws {
        try await base.listen(wake)
    }
}
