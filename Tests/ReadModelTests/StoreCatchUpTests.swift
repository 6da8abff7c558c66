import Foundation
import LedgerPostgres
import LedgerTestSupport
import Logging
import Synchronization
import Testing
import TokenLedger

/// A store more than a page behind the log catches up from each stream's last token-deciding
/// event, with its checkpoint moved only once every row is written, whether the store or the log
/// fails midway.
@Suite(.serialized)
struct StoreCatchUpTests {
    @Test(.timeLimit(.minutes(3)), arguments: Stores.names)
    func aStoreFarBehindIsWrittenEachStreamsLastTokenAndTakesTheHeadLast(_ name: String) async throws {
        let store = try await Stores.model(name)
        try await Stores.withLog { log in
            try await store.prepare()
            try await store.reset()
            // Six histories of every kind, then ten streams of one token: more last tokens than two pages hold.
            let streams = try (0..<16).map { try Stores.stream("far\($0)") }
            let elsewhere = try Sealer(current: "elsewhere", keys: ["elsewhere": Sealer.generateKey()])
            try await Stores.issue(log, streams[0], token: "old-0")
            try await Stores.issue(log, streams[0], token: "new-0")
            try await Stores.issue(log, streams[1], token: "revoked-1")
            try await Stores.revoke(log, streams[1])
            try await Stores.issue(log, streams[2], token: "retired-2")
            try await Self.append(CredentialsRemoved(), to: streams[2], log)
            try await Stores.issue(log, streams[3], token: "kept-3")
            try await Self.append(RefreshFailed(code: "upstream_busy", platformCode: nil, platformMessage: nil, reason: .expired), to: streams[3], log)
            try await Stores.issue(log, streams[4], token: "readable-4")
            try await Stores.issue(log, streams[4], token: "sealed-elsewhere-4", sealer: elsewhere)
            for round in 0..<3 { try await Stores.issue(log, streams[5], token: "round-\(round)") }
            for index in 6..<16 { try await Stores.issue(log, streams[index], token: "plain-\(index)") }

            let model = WriteRecorder(store, failingWrite: 3)
            let projector = StoreProjector(
                model: model, log: log, election: log, sealer: Stores.sealer, wakes: WakeSignal(), pageSize: 4, logger: Logger(label: "catch-up")
            )
            // The first page, one batch of last tokens, then the store fails on the next one.
            await #expect(throws: LedgerError.self) { try await projector.catchUp() }
            let firstPage = try #require(try await log.readAll(after: 0, limit: 4).last).position
            #expect(try await store.checkpoint() == firstPage, "a catch-up that failed among the last tokens left the checkpoint where it was")
            #expect(model.writes.map(\.checkpoint) == [firstPage, firstPage])

            model.reset(failingWrite: nil)
            let reached = try await projector.catchUp()
            let head = try await StoreProjectorTests.head(log)
            #expect(reached >= head)
            let writes = model.writes
            let resumedAt = try #require(writes.first).checkpoint
            #expect(resumedAt == (try await log.readAll(after: firstPage, limit: 4).last?.position), "it went on from where the checkpoint stayed, a page first")
            #expect(writes.dropFirst().dropLast().allSatisfy { $0.checkpoint == resumedAt }, "the checkpoint stays until the last row is written")
            #expect(writes.last?.checkpoint == reached)
            let rows = writes.dropFirst().flatMap(\.streams)
            #expect(rows.count == Set(rows).count, "one row a stream: each stream's last token only")
            #expect(rows.filter { $0 == streams[5] }.count == 1)

            try await StoreProjectorTests.expectExactly(store, log, streams)
            #expect(try await store.row(of: streams[0]).row?.token == "new-0")
            #expect(try await store.row(of: streams[1]).row?.token == nil)
            #expect(try await store.row(of: streams[2]).row?.token == nil)
            #expect(try await store.row(of: streams[3]).row?.token == "kept-3")
            #expect(try await store.row(of: streams[4]).row?.token == nil, "a token that cannot be opened clears the row: the older one is never served")
            #expect(try await store.row(of: streams[5]).row?.token == "round-2")
            #expect(try await store.row(of: streams[15]).row?.token == "plain-15")
            let differences = try await StoreProjectorTests.projector(store, log).verify(wait: .seconds(5))
            #expect(differences.isEmpty, "\(differences)")
        }
    }

    @Test(.timeLimit(.minutes(3)), arguments: Stores.names)
    func theLogLostAmongTheLastTokensLeavesTheCheckpointAndTheNextCatchUpCompletes(_ name: String) async throws {
        let store = try await Stores.model(name)
        try await Stores.withLog { postgres in
            try await store.prepare()
            try await store.reset()
            let streams = try (0..<40).map { try Stores.stream("lost\($0)") }
            for (index, stream) in streams.enumerated() {
                try await Stores.issue(postgres, stream, token: "first-\(index)")
                try await Stores.issue(postgres, stream, token: "second-\(index)")
            }
            let log = FaultyLog(postgres)
            // The log goes away once the first page and one batch of last tokens are written.
            let model = WriteRecorder(store, failingWrite: nil) { written in if written == 2 { log.isDown = true } }
            let projector = StoreProjector(
                model: model, log: log, election: postgres, sealer: Stores.sealer, wakes: WakeSignal(), pageSize: 4, logger: Logger(label: "catch-up")
            )
            await #expect(throws: LedgerError.self) { try await projector.catchUp() }
            let firstPage = try #require(try await postgres.readAll(after: 0, limit: 4).last).position
            #expect(try await store.checkpoint() == firstPage, "the log lost midway left the checkpoint where it was")

            log.isDown = false
            try await projector.catchUp()
            try await StoreProjectorTests.expectExactly(store, postgres, streams)
            for (index, stream) in streams.enumerated() { #expect(try await store.row(of: stream).row?.token == "second-\(index)") }
        }
    }

    static func append<Payload: EventPayload>(_ payload: Payload, to stream: StreamID, _ log: any EventLog) async throws {
        let version = try await log.read(stream: stream, afterVersion: 0, limit: 10_000).last?.version ?? 0
        _ = try await log.append([try NewEvent(payload, metadata: EventMetadata(node: "test"))], to: stream, expectedVersion: version)
    }
}

/// A real store whose writes are recorded (the streams and the checkpoint of each), one of which
/// can be made to fail as a store that went away would.
final class WriteRecorder: ReadModel {
    struct Write: Sendable {
        var streams: [StreamID]
        var checkpoint: Int64
    }

    private let base: any ReadModel
    private let state: Mutex<(writes: [Write], failingWrite: Int?)>
    private let written: @Sendable (Int) -> Void

    /// Forwards to `base`; the `failingWrite`th write (1-based) fails without reaching it; `written`
    /// is told the count of writes made after each one.
    init(_ base: any ReadModel, failingWrite: Int?, written: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.base = base
        self.written = written
        state = Mutex(([], failingWrite))
    }

    var writes: [Write] { state.withLock { $0.writes } }

    func reset(failingWrite: Int?) {
        state.withLock { $0 = ([], failingWrite) }
    }

    var name: String { base.name }
    func checkpoint() async throws -> Int64 { try await base.checkpoint() }

    func apply(_ rows: [ReadModelRow], checkpoint: Int64) async throws {
        let fails = state.withLock { state -> Bool in
            if state.writes.count + 1 == state.failingWrite { return true }
            state.writes.append(Write(streams: rows.map(\.stream), checkpoint: checkpoint))
            return false
        }
        if fails { throw LedgerError(.storeUnavailable, "the store went away (test)") }
        try await base.apply(rows, checkpoint: checkpoint)
        written(state.withLock { $0.writes.count })
    }

    func row(of stream: StreamID) async throws -> (row: ReadModelRow?, checkpoint: Int64) { try await base.row(of: stream) }
    func snapshot() async throws -> ReadModelSnapshot { try await base.snapshot() }
    func reset() async throws { try await base.reset() }
    func prepare() async throws { try await base.prepare() }
    func shutdown() async { await base.shutdown() }
}
