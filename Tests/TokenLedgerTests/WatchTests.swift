import Foundation
import LedgerTestSupport
import Logging
import Testing
import TokenLedger

/// Watches fed by the memory projector: every watcher gets each folded event without a query of
/// its own, a resume from a position gets exactly what came after it (from the feed while it
/// holds it, else from the log), the number of watchers is bounded, and `stop` ends a waiting one.
@Suite struct WatchTests {
    let stream = try! StreamID(project: "p", platform: "wechat", appid: "wx1")

    /// A registered app on a ledger over `log`, its projector's feed holding `feedCapacity` events.
    func ledger(log: any EventLog, feedCapacity: Int = 4096) throws -> Ledger {
        let sealer = try Sealer(current: "k1", keys: ["k1": String(repeating: "A", count: 43) + "="])
        let logger = Logger(label: "watch-test")
        let projector = Projector(log: log, model: MemoryReadModel(sealer: sealer), feedCapacity: feedCapacity, logger: logger)
        return Ledger(log: log, projector: projector, platforms: ["wechat": FakePlatform()], sealer: sealer, options: Ledger.Options(node: "test"), logger: logger)
    }

    func tokens(_ events: [RecordedEvent], _ ledger: Ledger, sealer: Sealer) -> [String] {
        events.compactMap { event -> String? in
            guard case .token(let served) = TokenChange(event, sealer: sealer) else { return nil }
            return served.token
        }
    }

    @Test(.timeLimit(.minutes(1))) func aThousandWatchersEachGetARefreshWithoutAQueryOfTheirOwn() async throws {
        let log = FaultyLog(InMemoryEventLog())
        let ledger = try ledger(log: log)
        try await ledger.credentials.register(secret: "S", for: stream, context: CallContext())
        var watches: [FeedWatch] = []
        for _ in 0..<1000 {
            let (current, watch) = try await ledger.reader.watch(stream, after: nil, maxWatchers: 1000, context: CallContext())
            #expect(current?.token == "T1")
            watches.append(watch)
        }
        let callsBefore = log.calls
        let refreshed = try await ledger.reader.refresh(stream, secret: nil, nowToken: nil, context: CallContext())
        let callsOfTheRefresh = log.calls - callsBefore
        let received = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for watch in watches {
                group.addTask { try await watch.next(within: .seconds(10))?.map(\.position) ?? [] }
            }
            return try await group.reduce(into: [[Int64]]()) { $0.append($1) }
        }
        #expect(received.count == 1000)
        #expect(received.allSatisfy { $0 == [refreshed.position] }, "each watcher gets the refresh's token.issued, and only it")
        #expect(log.calls - callsBefore == callsOfTheRefresh, "the watchers read from the feed, not from the log")
    }

    @Test(.timeLimit(.minutes(1))) func aResumeGetsExactlyWhatCameAfterItFromTheFeedOrTheLog() async throws {
        for capacity in [4096, 2] {
            let ledger = try ledger(log: InMemoryEventLog(), feedCapacity: capacity)
            try await ledger.credentials.register(secret: "S", for: stream, context: CallContext())
            let first = try await ledger.reader.token(for: stream, secret: nil, context: CallContext())
            for _ in 0..<5 { _ = try await ledger.reader.refresh(stream, secret: nil, nowToken: nil, context: CallContext()) }
            let sealer = try Sealer(current: "k1", keys: ["k1": String(repeating: "A", count: 43) + "="])
            // A watcher that saw T1 and missed five refreshes (more than a feed of two holds).
            let (current, watch) = try await ledger.reader.watch(stream, after: first.position, maxWatchers: 10, context: CallContext())
            #expect(current == nil, "a resume sends no first token")
            let missed = try #require(try await watch.next(within: .seconds(1)))
            #expect(tokens(missed, ledger, sealer: sealer) == ["T2", "T3", "T4", "T5", "T6"], "capacity \(capacity)")
            #expect(try await watch.next(within: .milliseconds(50))?.isEmpty == true, "nothing more: the wait times out")
        }
    }

    @Test func watchersPastTheBoundAreRefusedUntilOneIsReleased() async throws {
        let ledger = try ledger(log: InMemoryEventLog())
        var watches = try (0..<3).map { _ in try ledger.projector.feed.watch(after: 0, log: ledger.log, maxWatchers: 3) }
        #expect(ledger.projector.feed.watchers == 3)
        #expect {
            try ledger.projector.feed.watch(after: 0, log: ledger.log, maxWatchers: 3)
        } throws: { ($0 as? LedgerError)?.code == .tooManyWatchers }
        watches.removeLast()
        #expect(ledger.projector.feed.watchers == 2)
        watches.append(try ledger.projector.feed.watch(after: 0, log: ledger.log, maxWatchers: 3))
        #expect(watches.count == 3)
    }

    @Test(.timeLimit(.minutes(1))) func stopEndsAWaitingWatchAtOnce() async throws {
        let ledger = try ledger(log: InMemoryEventLog())
        let watch = try ledger.projector.feed.watch(after: 0, log: ledger.log, maxWatchers: 1)
        let started = ContinuousClock.now
        async let ended = watch.next(within: .seconds(30))
        try await Task.sleep(for: .milliseconds(100))
        watch.stop()
        #expect(try await ended == nil)
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(try await watch.next(within: .seconds(30)) == nil, "a stopped watch stays stopped")
    }
}
