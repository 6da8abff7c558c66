import Foundation
import LedgerTestSupport
import Logging
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
        let log = FaultyLog(InMemoryEventLog())
        let projector = Projector(log: log, model: MemoryReadModel(sealer: Self.sealer), logger: Logger(label: "test"))
        _ = try await Self.append(log, 0)
        // A catch-up held inside its read of the log, while 20 writers append and catch up behind it.
        log.holdReads()
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
        log.releaseReads()
        _ = try await first.value
        for writer in writers { #expect(try await writer.value, "a writer's catch-up shows its own append") }
        #expect(log.reads - readsBefore <= 4, "the queued writers shared a catch-up (twenty reads without sharing): \(log.reads - readsBefore) reads")
        #expect(projector.model.checkpoint == 21)

        // Alone, each call still reads: an append after a catch-up is seen by the next one.
        let late = try await Self.append(log, 21)
        #expect(try await projector.catchUp() == late)
    }
}
