import Foundation
import LedgerTestSupport
import Testing
import TokenLedger

/// Reads, compare-and-refresh, version races and the edges of freshness, in-process: the
/// in-memory log, a fake platform, a clock the test moves.
@Suite struct TokenReaderTests {
    let stream = try! StreamID(project: "p", platform: "wechat", appid: "wx1")

    func registered(_ platform: FakePlatform, log: (any EventLog)? = nil, clock: TestClock = TestClock(), node: String = "test") async throws -> LedgerFixture {
        let fixture = try LedgerFixture(log: log, platforms: ["wechat": platform], node: node, clock: clock)
        try await fixture.ledger.credentials.register(secret: "S", for: stream, context: CallContext())
        return fixture
    }

    @Test func concurrentMissesCallThePlatformOnce() async throws {
        let platform = FakePlatform()
        let fixture = try await registered(platform)
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 {
                group.addTask { try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext()).token }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(tokens == ["T1"])
        #expect(platform.calls == 1)
    }

    @Test func compareAndRefreshReplacesTheReportedTokenOnceForConcurrentCallers() async throws {
        let platform = FakePlatform()
        let fixture = try await registered(platform)
        let bad = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext()).token
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<10 {
                group.addTask { try await fixture.ledger.reader.compareAndRefresh(stream, expected: bad, context: CallContext()).token }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(tokens == ["T2"], "every caller gets the one replacement")
        #expect(platform.calls == 2)
        let reasons = try await fixture.log.read(stream: stream, afterVersion: 0, limit: 10).filter { $0.type == .tokenIssued }
            .map { try $0.decode(TokenIssued.self).reason }
        #expect(reasons == [.miss, .compare])
    }

    @Test func compareAndRefreshWithATokenAlreadyReplacedReturnsTheCurrentWithoutACall() async throws {
        let platform = FakePlatform()
        let fixture = try await registered(platform)
        _ = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        _ = try await fixture.ledger.reader.compareAndRefresh(stream, expected: "T1", context: CallContext())
        let served = try await fixture.ledger.reader.compareAndRefresh(stream, expected: "T1", context: CallContext())
        #expect(served.token == "T2")
        #expect(platform.calls == 2, "a caller late with the old token costs nothing")
        let put = try await fixture.ledger.reader.refresh(stream, secret: nil, nowToken: "T1", context: CallContext())
        #expect(put.token == "T2")
        #expect(platform.calls == 2)
    }

    @Test func aTokenIsServedFromMemoryUntilItsMarginAndRefreshedPastIt() async throws {
        let platform = FakePlatform(expiresIn: 7200)
        let fixture = try await registered(platform)
        let first = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        fixture.clock.advance(by: 6899.9)  // 0.1 s before expires_at - 300 s
        #expect(try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext()).token == first.token)
        #expect(platform.calls == 1)
        fixture.clock.advance(by: 0.2)  // 0.1 s past it
        let renewed = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        #expect(renewed.token == "T2" && !renewed.stale)
        let reasons = try await fixture.log.read(stream: stream, afterVersion: 0, limit: 10).filter { $0.type == .tokenIssued }
            .map { try $0.decode(TokenIssued.self).reason }
        #expect(reasons == [.miss, .expired])
    }

    @Test func aReplicaBehindTheLogFindsTheTokenAnotherIssuedUnderTheLockWithoutACall() async throws {
        let platform = FakePlatform()
        let log = InMemoryEventLog()
        let clock = TestClock()
        let first = try await registered(platform, log: log, clock: clock, node: "a")
        let token = try await first.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        let behind = try LedgerFixture(log: log, platforms: ["wechat": platform], node: "b", clock: clock)
        let served = try await behind.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        #expect(served.token == token.token)
        #expect(platform.calls == 1, "the head, re-read under the lock, already met the demand")
    }

    @Test func aSecretSetOnAReplicaBehindTheLogIsAppendedAtTheHead() async throws {
        let platform = FakePlatform()
        let log = InMemoryEventLog()
        let clock = TestClock()
        let first = try await registered(platform, log: log, clock: clock, node: "a")
        _ = try await first.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        let behind = try LedgerFixture(log: log, platforms: ["wechat": platform], node: "b", clock: clock)
        let version = try await behind.ledger.credentials.set(stream, secret: "S2", options: ["mode": "stable"], verify: false, context: CallContext())
        #expect(version == 3, "appended after the token the replica had not seen")
        try await first.ledger.projector.catchUp()
        #expect(first.ledger.reader.isRegistered(secret: "S2", for: stream))
        #expect(first.ledger.projector.model.state(of: stream)?.options == ["mode": "stable"])
        #expect(first.ledger.projector.model.state(of: stream)?.token?.value == "T1", "the token stays")
    }

    @Test func registeringTheSameSecretAgainAppendsNothingAndEmptyOptionsKeepTheRegisteredOnes() async throws {
        let fixture = try await registered(FakePlatform())
        _ = try await fixture.ledger.credentials.set(stream, secret: "S", options: ["mode": "stable"], verify: false, context: CallContext())
        let version = fixture.ledger.projector.model.state(of: stream)?.version
        try await fixture.ledger.credentials.register(secret: "S", for: stream, context: CallContext())
        #expect(fixture.ledger.projector.model.state(of: stream)?.version == version)
        #expect(fixture.ledger.projector.model.state(of: stream)?.options == ["mode": "stable"])
        _ = try await fixture.ledger.credentials.set(stream, secret: "S", options: [:], verify: false, context: CallContext())
        #expect(fixture.ledger.projector.model.state(of: stream)?.options == [:], "replace clears them")
    }
}
