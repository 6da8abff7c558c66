import Foundation
import LedgerTestSupport
import Logging
import Synchronization
import Testing
import TokenLedger

/// Snapshots of the memory model (`MemorySnapshot`, `MemorySnapshotWriter`, a projector's first
/// catch-up): a replica that starts from one holds exactly what replaying the whole log folds, and
/// one that cannot be restored exactly (other code, other keys, altered) is passed over.
@Suite struct MemorySnapshotTests {
    static let key = String(repeating: "A", count: 43) + "="

    /// A log of every kind of history: options, tokens, a forced refresh, failures with the
    /// platform's code, a revoked token, a removed app, a token no key of the ledger opens.
    static func richLog() async throws -> LedgerFixture {
        let platform = FakePlatform()
        let fixture = try LedgerFixture(platforms: ["wechat": platform])
        let ledger = fixture.ledger
        var admin = CallContext(actor: "ops")
        admin.mayChangeCredentials = true
        for index in 0..<6 {
            let stream = try StreamID(project: "snap", platform: "wechat", appid: "wx\(index)")
            try await ledger.credentials.register(secret: "S", .register(options: ["forced_daily_budget": "9"]), for: stream, context: CallContext())
            _ = try await ledger.reader.token(for: stream, secret: nil, context: CallContext())
            _ = try await ledger.reader.refresh(stream, secret: nil, nowToken: nil, context: CallContext())
        }
        let failing = try StreamID(project: "snap", platform: "wechat", appid: "wx1")
        platform.setFailure(PlatformError(.busy, platformCode: "-1"))
        _ = try? await ledger.reader.refresh(failing, secret: nil, nowToken: nil, context: CallContext())
        _ = try? await ledger.reader.refresh(failing, secret: nil, nowToken: nil, context: CallContext())
        platform.setFailure(nil)
        _ = try await ledger.credentials.revokeToken(of: try StreamID(project: "snap", platform: "wechat", appid: "wx2"), reason: "leaked", context: admin)
        _ = try await ledger.credentials.remove(try StreamID(project: "snap", platform: "wechat", appid: "wx3"), context: admin)
        // A token sealed with a key this ledger does not have: the stream is unreadable.
        let foreign = try StreamID(project: "snap", platform: "wechat", appid: "wx4")
        let elsewhere = try Sealer(current: "elsewhere", keys: ["elsewhere": Sealer.generateKey()])
        let version = try await fixture.log.read(stream: foreign, afterVersion: 0, limit: 100).last?.version ?? 0
        let issued = TokenIssued(
            token: try elsewhere.seal("foreign", for: foreign, as: .token), expiresAt: Date().addingTimeInterval(7200), reason: .expired,
            upstreamLatencyMs: 3
        )
        _ = try await fixture.log.append([try NewEvent(issued, metadata: EventMetadata(node: "other"))], to: foreign, expectedVersion: version)
        try await ledger.projector.catchUp()
        return fixture
    }

    /// The memory model of `log` replayed from its start.
    static func replayed(_ log: any EventLog, sealer: Sealer) async throws -> MemoryReadModel {
        let model = MemoryReadModel(sealer: sealer)
        try await Projector(log: log, model: model, logger: Logger(label: "replay")).catchUp()
        return model
    }

    @Test func aSnapshotRestoresEveryStreamExactlyAsReplayFoldsIt() async throws {
        let fixture = try await Self.richLog()
        let model = fixture.ledger.projector.model
        let states = model.allStates()
        #expect(states.values.contains { $0.unreadable } && states.values.contains { $0.removed } && states.values.contains { $0.lastFailure != nil })
        #expect(states.values.contains { $0.calls.forced > 0 } && states.values.contains { !$0.options.isEmpty })

        let snapshot = try MemorySnapshot.make(of: model, node: "n1")
        #expect(snapshot.position == model.checkpoint && snapshot.format == MemorySnapshot.format && snapshot.keyIDs == "k1")
        let token = try #require(states.values.compactMap(\.token?.value).first)
        #expect(Data(snapshot.state).range(of: Data(token.utf8)) == nil, "sealed: no token in the clear")
        let restored = try MemorySnapshot.open(snapshot, sealer: fixture.sealer)
        #expect(restored == states)
        #expect(restored == (try await Self.replayed(fixture.log, sealer: fixture.sealer)).allStates())
    }

    @Test func theEncodingWritesEveryFieldOfAStreamsState() {
        // A field added to StreamState must be added to the snapshot's encoding (and its format raised).
        #expect(Mirror(reflecting: StreamState()).children.count == MemorySnapshot.codedFields)
    }

    @Test func aSnapshotOfOtherCodeOtherKeysOrAlteredIsRefused() async throws {
        let fixture = try await Self.richLog()
        let snapshot = try MemorySnapshot.make(of: fixture.ledger.projector.model, node: "n1")
        var otherFormat = snapshot
        otherFormat.format += 1
        #expect(MemorySnapshot.refusal(of: otherFormat, sealer: fixture.sealer)?.contains("format") == true)
        #expect(throws: LedgerError.self) { try MemorySnapshot.open(otherFormat, sealer: fixture.sealer) }

        // One more key (or one fewer) could fold some streams otherwise: refused, though it would open.
        let moreKeys = try Sealer(current: "k1", keys: ["k1": Self.key, "k0": Sealer.generateKey()])
        #expect(MemorySnapshot.refusal(of: snapshot, sealer: moreKeys)?.contains("keys") == true)
        #expect(throws: LedgerError.self) { try MemorySnapshot.open(snapshot, sealer: moreKeys) }
        let otherKey = try Sealer(current: "k1", keys: ["k1": Sealer.generateKey()])
        #expect(MemorySnapshot.refusal(of: snapshot, sealer: otherKey) == nil)
        #expect(throws: LedgerError.self) { try MemorySnapshot.open(snapshot, sealer: otherKey) }

        var moved = snapshot
        moved.position -= 1
        #expect(throws: LedgerError.self) { try MemorySnapshot.open(moved, sealer: fixture.sealer) }
        var altered = snapshot
        altered.state[altered.state.count / 2] ^= 1
        #expect(throws: LedgerError.self) { try MemorySnapshot.open(altered, sealer: fixture.sealer) }
        var cut = snapshot
        cut.state.removeLast(40)
        #expect(throws: LedgerError.self) { try MemorySnapshot.open(cut, sealer: fixture.sealer) }
    }

    @Test func verifyComparesASnapshotWithTheLogFoldedUpToItsPosition() async throws {
        let fixture = try await Self.richLog()
        let model = fixture.ledger.projector.model
        let faithful = try MemorySnapshot.make(of: model, node: "n1")
        var states = model.allStates()
        // Events after the snapshot are not its business.
        _ = try await fixture.ledger.reader.refresh(try StreamID(project: "snap", platform: "wechat", appid: "wx0"), secret: nil, nowToken: nil, context: CallContext())
        #expect(try await MemorySnapshot.differences(of: faithful, in: fixture.log, sealer: fixture.sealer, pageSize: 3).isEmpty)

        // A snapshot that opens but holds another state than the fold (a bug of the fold's or the encoding's).
        let wrong = try StreamID(project: "snap", platform: "wechat", appid: "wx5")
        states[wrong]?.consecutiveFailures += 1
        let ghost = try StreamID(project: "snap", platform: "wechat", appid: "ghost")
        states[ghost] = StreamState()
        let forged = MemoryReadModel(sealer: fixture.sealer)
        #expect(forged.restore(states, at: faithful.position))
        let unfaithful = try MemorySnapshot.make(of: forged, node: "n1")
        #expect(try await MemorySnapshot.differences(of: unfaithful, in: fixture.log, sealer: fixture.sealer) == [ghost, wrong])
    }

    @Test func aProjectorStartsFromTheSnapshotAndReadsOnlyTheEventsAfterIt() async throws {
        let fixture = try await Self.richLog()
        let store = MemorySnapshotShelf()
        try await store.saveMemorySnapshot(try MemorySnapshot.make(of: fixture.ledger.projector.model, node: "n1"), keeping: 2)
        let at = fixture.ledger.projector.model.checkpoint
        // Events after the snapshot: a new app, another token for an old one.
        let later = try StreamID(project: "snap", platform: "wechat", appid: "later")
        try await fixture.ledger.credentials.register(secret: "S", for: later, context: CallContext())
        _ = try await fixture.ledger.reader.token(for: later, secret: nil, context: CallContext())
        _ = try await fixture.ledger.reader.refresh(try StreamID(project: "snap", platform: "wechat", appid: "wx0"), secret: nil, nowToken: nil, context: CallContext())

        let log = FaultyLog(fixture.log)
        let model = MemoryReadModel(sealer: fixture.sealer)
        let projector = Projector(log: log, model: model, snapshots: store, logger: Logger(label: "start"))
        let head = try await projector.catchUp()
        #expect(projector.restoredFrom == at)
        #expect(model.allStates() == (try await Self.replayed(fixture.log, sealer: fixture.sealer)).allStates())
        #expect(head == fixture.ledger.projector.model.checkpoint)
        #expect(log.reads <= 2, "only the events after the snapshot are read")
        #expect(Set(model.drainChanged().map(\.0)) == Set(model.allStates().keys), "every restored stream counts as changed (the scheduler looks at them)")
        // A watcher from before the snapshot is answered from the log, in order, nothing missed.
        let watch = try projector.feed.watch(after: at - 2, log: fixture.log, maxWatchers: 4)
        var seen: [Int64] = []
        while seen.last != head, let page = try await watch.next(within: .seconds(2)), !page.isEmpty { seen += page.map(\.position) }
        #expect(seen == Array((at - 1)...head))
    }

    @Test func aSnapshotThatCannotBeRestoredIsPassedOverAndTheLogReplayed() async throws {
        let fixture = try await Self.richLog()
        let store = MemorySnapshotShelf()
        var snapshot = try MemorySnapshot.make(of: fixture.ledger.projector.model, node: "n1")
        snapshot.state[10] ^= 1
        try await store.saveMemorySnapshot(snapshot, keeping: 2)
        let model = MemoryReadModel(sealer: fixture.sealer)
        let projector = Projector(log: fixture.log, model: model, snapshots: store, logger: Logger(label: "start"))
        try await projector.catchUp()
        #expect(projector.restoredFrom == nil)
        #expect(model.allStates() == fixture.ledger.projector.model.allStates())

        // A snapshot store that does not answer fails the catch-up, as the log would; the next one restores.
        let good = try MemorySnapshot.make(of: fixture.ledger.projector.model, node: "n1")
        store.failing = true
        try await store.saveMemorySnapshot(good, keeping: 2)
        let next = Projector(log: fixture.log, model: MemoryReadModel(sealer: fixture.sealer), snapshots: store, logger: Logger(label: "start"))
        await #expect(throws: LedgerError.self) { try await next.catchUp() }
        #expect(next.model.checkpoint == 0)
        store.failing = false
        try await next.catchUp()
        #expect(next.restoredFrom == good.position)
        #expect(next.model.allStates() == fixture.ledger.projector.model.allStates())
    }

    @Test func theWriterWritesEveryNEventsOnlyWhenItLeads() async throws {
        let fixture = try await Self.richLog()
        let model = fixture.ledger.projector.model
        let store = MemorySnapshotShelf()
        let every = model.checkpoint
        let writer = MemorySnapshotWriter(
            model: model, store: store, election: SoleLeader(), every: every, interval: .seconds(1), node: "n1", logger: Logger(label: "writer")
        )
        #expect(try await writer.writeIfDue() == model.checkpoint, "no snapshot yet and `every` events folded: one is written")
        #expect(store.saved.map(\.position) == [model.checkpoint])
        let first = model.checkpoint
        let reads = store.reads
        _ = try await fixture.ledger.reader.refresh(try StreamID(project: "snap", platform: "wechat", appid: "wx0"), secret: nil, nowToken: nil, context: CallContext())
        try await fixture.ledger.projector.catchUp()
        #expect(try await writer.writeIfDue(newest: first) == first, "fewer than `every` events since: nothing written, nothing read")
        #expect(store.saved.count == 1 && store.reads == reads)

        let follower = MemorySnapshotWriter(
            model: model, store: MemorySnapshotShelf(), election: NeverLeads(), every: 1, interval: .seconds(1), node: "n2", logger: Logger(label: "writer")
        )
        #expect(try await follower.writeIfDue() == nil, "another replica leads: it writes")
    }
}

/// An election another process always wins.
struct NeverLeads: LeaderElection {
    func lead<T: Sendable>(_ role: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T? { nil }
}
