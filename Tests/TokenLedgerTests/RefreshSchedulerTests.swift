import Foundation
import LedgerTestSupport
import Testing
import TokenLedger

/// The scheduler in-process: `tick()` driven second by second on a test clock over the in-memory
/// log and a fake platform, with short token lives (20 s, early 10 s) as the process tests had.
@Suite struct RefreshSchedulerTests {
    /// `refresh.early_seconds` 10; the tests' tokens live seconds, so the margin is the full setting.
    static let freshness = Freshness(earlySeconds: 10, maxFraction: 0.9)
    /// A tick a second: lead two ticks, one second of jitter.
    static let policy = RefreshPlan.Policy(lead: 2, jitter: 1)

    let stream = try! StreamID(project: "p", platform: "wechat", appid: "wx1")

    /// Moves `clock` one second at a time for `seconds`, ticking every scheduler after each step.
    func run(_ seconds: Int, clock: TestClock, _ schedulers: [RefreshScheduler], catchingUp fixtures: [LedgerFixture] = []) async throws {
        for _ in 0..<seconds {
            clock.advance(by: 1)
            for fixture in fixtures { try await fixture.ledger.projector.catchUp() }
            for scheduler in schedulers { await scheduler.tick() }
        }
    }

    func events(_ fixture: LedgerFixture, of stream: StreamID, _ type: EventType) async throws -> [RecordedEvent] {
        try await fixture.log.read(stream: stream, afterVersion: 0, limit: 1000).filter { $0.type == type }
    }

    func failureCodes(_ fixture: LedgerFixture, of stream: StreamID) async throws -> [String] {
        try await events(fixture, of: stream, .refreshFailed).map { try $0.decode(RefreshFailed.self).code }
    }

    @Test func tokensAreRenewedBeforeTheyGoStaleWithOneCallPerRenewal() async throws {
        let platform = FakePlatform(expiresIn: 20)
        let fixture = try LedgerFixture(platforms: ["wechat": platform], freshness: Self.freshness)
        let scheduler = fixture.scheduler(policy: Self.policy)
        let apps = try ["wxs1", "wxs2", "wxs3"].map { try StreamID(project: "p", platform: "wechat", appid: $0) }
        for app in apps { _ = try await fixture.ledger.reader.token(for: app, secret: "S", context: CallContext()) }
        var seen: [StreamID: Set<String>] = [:]
        // 45 s in steps of 200 ms, a tick a second, every app read at every step.
        for step in 1...225 {
            fixture.clock.advance(by: 0.2)
            if step % 5 == 0 { await scheduler.tick() }
            for app in apps {
                let served = try await fixture.ledger.reader.token(for: app, secret: nil, context: CallContext())
                #expect(!served.stale)
                #expect(fixture.clock.now < served.expiresAt.addingTimeInterval(-10), "never served past expires_at - early_seconds")
                seen[app, default: []].insert(served.token)
            }
        }
        for app in apps {
            let issued = try await events(fixture, of: app, .tokenIssued).map { try $0.decode(TokenIssued.self).reason }
            #expect(issued.count >= 4, "\(app) renewed several times in 45 s")
            #expect(platform.calls(appid: app.appid) == issued.count, "\(app): one upstream call per renewal")
            #expect(issued.dropFirst().allSatisfy { $0 == .scheduled }, "\(app): readers never had to refresh; the scheduler did")
            #expect(seen[app, default: []].count == issued.count)
        }
    }

    @Test func replicasSharingALogRenewOncePerRenewalAndTakeOverFromOneThatStops() async throws {
        let platform = FakePlatform(expiresIn: 20)
        let log = InMemoryEventLog()
        let clock = TestClock()
        let replicas = try (0..<3).map {
            try LedgerFixture(log: log, platforms: ["wechat": platform], freshness: Self.freshness, node: "r\($0)", clock: clock)
        }
        let schedulers = replicas.map { $0.scheduler(policy: Self.policy) }
        _ = try await replicas[0].ledger.reader.token(for: stream, secret: "S", context: CallContext())
        try await run(15, clock: clock, schedulers, catchingUp: replicas)
        // The first replica stops: the others renew what it would have.
        try await run(30, clock: clock, Array(schedulers.dropFirst()), catchingUp: Array(replicas.dropFirst()))
        let issued = try await events(replicas[1], of: stream, .tokenIssued)
        #expect(issued.count >= 4, "renewed several times in 45 s")
        #expect(platform.calls == issued.count, "one upstream call per renewal across three schedulers")
        #expect(issued.last.map { $0.metadata.node } != "r0", "the stopped replica's stream was taken over")
        let served = try await replicas[2].ledger.reader.token(for: stream, secret: nil, context: CallContext())
        #expect(served.token == platform.current && !served.stale)
    }

    @Test func aBusyPlatformIsRetriedWithGrowingBackOffWhileTheValidTokenIsServed() async throws {
        let platform = FakePlatform(expiresIn: 45)
        let fixture = try LedgerFixture(platforms: ["wechat": platform], freshness: Freshness(earlySeconds: 35, maxFraction: 0.9))
        let scheduler = fixture.scheduler(policy: Self.policy)
        let token = try await fixture.ledger.reader.token(for: stream, secret: "S", context: CallContext()).token
        platform.setFailure(PlatformError(.busy, platformCode: "-1"))
        try await run(29, clock: fixture.clock, [scheduler])
        let failures = try await events(fixture, of: stream, .refreshFailed).map(\.recordedAt.timeIntervalSince1970)
        #expect(failures.count >= 3 && failures.count <= 5, "back-off, not a call per tick: \(failures.count)")
        let gaps = zip(failures.dropFirst(), failures).map { $0 - $1 }
        #expect(gaps.count >= 2 && gaps[1] > gaps[0], "the back-off grows: \(gaps)")
        #expect(platform.calls == 1 + failures.count, "no call beyond those recorded")
        let answer = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        #expect(answer.token == token, "the still-valid token is served")
        #expect(answer.stale)
    }

    @Test func rejectedCredentialsStopTheScheduleUntilANewSecretArrives() async throws {
        let platform = FakePlatform(secret: "old", expiresIn: 20)
        let fixture = try LedgerFixture(platforms: ["wechat": platform], freshness: Self.freshness)
        let scheduler = fixture.scheduler(policy: Self.policy)
        _ = try await fixture.ledger.reader.token(for: stream, secret: "old", context: CallContext())
        platform.setSecret("new")  // rotated on the platform's side
        try await run(14, clock: fixture.clock, [scheduler])
        #expect(platform.calls == 2, "one rejected scheduled call, then nothing")
        #expect(scheduler.parkedStreams == [stream])
        try await run(30, clock: fixture.clock, [scheduler])
        #expect(platform.calls == 2, "parked, however long")
        // The new secret resumes it.
        let renewed = try await fixture.ledger.reader.token(for: stream, secret: "new", context: CallContext())
        #expect(!renewed.stale)
        try await run(14, clock: fixture.clock, [scheduler])
        #expect(scheduler.parkedStreams.isEmpty)
        #expect(try await failureCodes(fixture, of: stream) == ["upstream_rejected_credentials"])
        let reasons = try await events(fixture, of: stream, .tokenIssued).map { try $0.decode(TokenIssued.self).reason }
        #expect(reasons.first == .miss && reasons.dropFirst().first == .credentials && reasons.last == .scheduled)
        #expect(platform.calls > 3, "scheduled renewals resumed")
    }

    @Test func anExhaustedQuotaStopsScheduledCallsUntilTheQuotaDayTurns() async throws {
        // One in the morning in China: the quota day turns 23 hours later.
        let start = RefreshPlan.chinaMidnight(after: Date()).addingTimeInterval(3600)
        let platform = FakePlatform(expiresIn: 20)
        let fixture = try LedgerFixture(platforms: ["wechat": platform], freshness: Self.freshness, clock: TestClock(start: start))
        let scheduler = fixture.scheduler(policy: Self.policy)
        _ = try await fixture.ledger.reader.token(for: stream, secret: "S", context: CallContext())
        platform.setFailure(PlatformError(.quotaExhausted, platformCode: "45009"))
        try await run(16, clock: fixture.clock, [scheduler])
        #expect(platform.calls == 2, "one scheduled call met the quota, then none")
        #expect(try await failureCodes(fixture, of: stream) == ["upstream_quota_exhausted"])
        fixture.clock.advance(by: 23 * 3600 - 17 - 2)
        await scheduler.tick()
        #expect(platform.calls == 2, "still the same quota day")
        platform.setFailure(nil)
        try await run(3, clock: fixture.clock, [scheduler])
        #expect(platform.calls == 3, "the new day's first tick renews")
        #expect(fixture.ledger.projector.model.state(of: stream)?.token?.value == platform.current)
    }

    @Test func aTokenIsRenewedWhenItsPlanComesDueNotBefore() async throws {
        let platform = FakePlatform(expiresIn: 20)
        let fixture = try LedgerFixture(platforms: ["wechat": platform], freshness: Self.freshness)
        let scheduler = fixture.scheduler(policy: Self.policy)
        _ = try await fixture.ledger.reader.token(for: stream, secret: "S", context: CallContext())
        let issued = try await events(fixture, of: stream, .tokenIssued).count
        try await run(7, clock: fixture.clock, [scheduler])
        #expect(platform.calls == 1, "not due before lead and jitter")
        try await run(2, clock: fixture.clock, [scheduler])
        #expect(platform.calls == 2, "due at staleness - lead - jitter")
        #expect(try await events(fixture, of: stream, .tokenIssued).count == issued + 1)
    }

    @Test func aStreamWhoseRenewalCouldNotBeRecordedStaysScheduled() async throws {
        let platform = FakePlatform(expiresIn: 20)
        let log = FaultyLog(InMemoryEventLog())
        let fixture = try LedgerFixture(log: log, platforms: ["wechat": platform], freshness: Self.freshness)
        let scheduler = fixture.scheduler(policy: Self.policy)
        _ = try await fixture.ledger.reader.token(for: stream, secret: "S", context: CallContext())
        await scheduler.tick()
        log.isDown = true
        try await run(9, clock: fixture.clock, [scheduler])
        #expect(platform.calls == 1, "the log is down: no lock, no call")
        log.isDown = false
        try await run(6, clock: fixture.clock, [scheduler])
        #expect(platform.calls == 2, "retried after the base back-off once the log is back")
        #expect(fixture.ledger.projector.model.state(of: stream)?.token?.value == "T2")
    }
}
