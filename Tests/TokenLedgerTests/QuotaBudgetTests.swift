import Foundation
import LedgerTestSupport
import Testing
import TokenLedger

/// Upstream calls counted per platform day from the log, and forced refreshes held to a budget,
/// in-process: the in-memory log, a fake platform, a clock the test moves.
@Suite struct QuotaBudgetTests {
    let stream = try! StreamID(project: "p", platform: "wechat", appid: "wx1")
    /// 2026-11-28 15:00 UTC: 23:00 in China, an hour before WeChat's day turns.
    static let lateEvening = Date(timeIntervalSince1970: 1_795_878_000)

    func registered(
        _ platform: FakePlatform, budgets: QuotaBudgets = QuotaBudgets(), options: [String: String] = [:], clock: TestClock = TestClock()
    ) async throws -> LedgerFixture {
        let fixture = try LedgerFixture(platforms: ["wechat": platform], budgets: budgets, clock: clock)
        try await fixture.ledger.credentials.register(secret: "S", .register(options: options), for: stream, context: CallContext())
        return fixture
    }

    func forced(_ fixture: LedgerFixture, _ stream: StreamID? = nil) async throws -> ServedToken {
        try await fixture.ledger.reader.refresh(stream ?? self.stream, secret: nil, nowToken: nil, context: CallContext())
    }

    func budgetRefusals(_ fixture: LedgerFixture) async throws -> [RefreshFailed] {
        try await fixture.log.readAll(after: 0, limit: 1000).filter { $0.type == .refreshFailed }.map { try $0.decode(RefreshFailed.self) }
            .filter { $0.code == LedgerError.Code.quotaBudgetExhausted.description }
    }

    func expectRefused(_ body: () async throws -> ServedToken, sourceLocation: SourceLocation = #_sourceLocation) async {
        let error = await #expect(throws: LedgerError.self, sourceLocation: sourceLocation) { _ = try await body() }
        #expect(error?.code == .quotaBudgetExhausted, sourceLocation: sourceLocation)
    }

    @Test func theDayTurnsAtMidnightChinaTimeForWeChatAndAtMidnightUTCForOAuth2() {
        let beforeMidnight = Self.lateEvening.addingTimeInterval(3599)
        let afterMidnight = Self.lateEvening.addingTimeInterval(3600)
        #expect(QuotaCalendar.day(of: beforeMidnight, platform: "wechat") + 1 == QuotaCalendar.day(of: afterMidnight, platform: "wechat"))
        #expect(QuotaCalendar.day(of: beforeMidnight, platform: "oauth2") == QuotaCalendar.day(of: afterMidnight, platform: "oauth2"))
        let day = QuotaCalendar.day(of: afterMidnight, platform: "wechat")
        #expect(QuotaCalendar.start(ofDay: day, platform: "wechat") == afterMidnight)
    }

    @Test func everyUpstreamCallIsCountedFromTheLogAndSurvivesARestart() async throws {
        let platform = FakePlatform()
        let fixture = try await registered(platform)
        let first = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        _ = try await forced(fixture)
        _ = try await fixture.ledger.reader.compareAndRefresh(stream, expected: try await forced(fixture).token, context: CallContext())
        platform.setFailure(PlatformError(.busy, platformCode: "-1"))
        await #expect(throws: LedgerError.self) { try await forced(fixture) }
        #expect(first.token == "T1")
        #expect(platform.calls == 5)
        let usage = try #require(fixture.ledger.refresher.budgetUsage(of: stream))
        #expect((usage.calls, usage.forced) == (5, 3), "a failure from the platform costs a call too")
        #expect(usage.callLimit == nil && usage.forcedLimit == nil)

        // Another replica (or this one restarted) folds the same count from the log.
        let restarted = try LedgerFixture(log: fixture.log, platforms: ["wechat": FakePlatform()], clock: fixture.clock)
        try await restarted.ledger.projector.catchUp()
        #expect(restarted.ledger.refresher.budgetUsage(of: stream) == usage)
    }

    @Test func theCountStartsAgainWhenThePlatformDayTurns() async throws {
        let clock = TestClock(start: Self.lateEvening.addingTimeInterval(3500))
        let fixture = try await registered(FakePlatform(), budgets: QuotaBudgets(["wechat": QuotaBudget(forcedDaily: 2)]), clock: clock)
        _ = try await forced(fixture)
        _ = try await forced(fixture)
        await expectRefused { try await forced(fixture) }
        let evening = try #require(fixture.ledger.refresher.budgetUsage(of: stream))
        #expect((evening.calls, evening.forced, evening.forcedLimit) == (2, 2, 2))
        #expect(evening.resetsAt == Self.lateEvening.addingTimeInterval(3600))

        clock.advance(by: 100)  // past midnight in China
        let midnight = try #require(fixture.ledger.refresher.budgetUsage(of: stream))
        #expect((midnight.calls, midnight.forced) == (0, 0), "read against today's date, before any new event")
        _ = try await forced(fixture)
        let morning = try #require(fixture.ledger.refresher.budgetUsage(of: stream))
        #expect((morning.calls, morning.forced) == (1, 1))
        #expect(morning.dayStart == Self.lateEvening.addingTimeInterval(3600))
    }

    @Test func aForcedRefreshBeyondTheBudgetIsRefusedWithOneEventAndNoPlatformCall() async throws {
        let platform = FakePlatform()
        let fixture = try await registered(platform, budgets: QuotaBudgets(["wechat": QuotaBudget(daily: 100, forcedDaily: 2)]))
        _ = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        _ = try await forced(fixture)
        let kept = try await forced(fixture)
        do {
            _ = try await forced(fixture)
            Issue.record("the third forced refresh went through")
        } catch let error as LedgerError {
            #expect(error.code == .quotaBudgetExhausted)
            #expect(error.message.contains("2 of 2 forced refreshes"))
        }
        #expect(platform.calls == 3, "the refusal is decided before the platform is asked")
        let refusals = try await budgetRefusals(fixture)
        #expect(refusals.count == 1)
        #expect(refusals.first?.reason == .forced)
        let usage = try #require(fixture.ledger.refresher.budgetUsage(of: stream))
        #expect((usage.calls, usage.forced) == (3, 2), "a refusal is no upstream call")
        // The app is not failing: readers keep the token, the scheduler does not back off.
        let state = try #require(fixture.ledger.projector.model.state(of: stream))
        #expect(state.lastFailure == nil && state.consecutiveFailures == 0)
        #expect(try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext()).token == kept.token)
        #expect(try fixture.ledger.reader.status(of: stream).state == .fresh)
    }

    @Test func aBudgetOfCallsRefusesForcedRefreshesToo() async throws {
        let platform = FakePlatform()
        let fixture = try await registered(platform, budgets: QuotaBudgets(["wechat": QuotaBudget(daily: 2)]))
        _ = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        _ = try await forced(fixture)
        await expectRefused { try await forced(fixture) }
        #expect(platform.calls == 2)
    }

    @Test func refreshesThatServeReadersAreNeverRefused() async throws {
        let platform = FakePlatform()
        let clock = TestClock(start: Self.lateEvening.addingTimeInterval(-7 * 3600))
        let fixture = try await registered(platform, budgets: QuotaBudgets(["wechat": QuotaBudget(daily: 1, forcedDaily: 0)]), clock: clock)
        let miss = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        await expectRefused { try await forced(fixture) }
        let compared = try await fixture.ledger.reader.refresh(stream, secret: nil, nowToken: miss.token, context: CallContext())
        clock.advance(by: 7200)
        let expired = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        let scheduled = try await fixture.ledger.refresher.scheduledRefresh(stream, freshUntil: clock.now.addingTimeInterval(7200))
        #expect([miss.token, compared.token, expired.token, scheduled.token] == ["T1", "T2", "T3", "T4"])
        #expect(platform.calls == 4)
        #expect(fixture.ledger.refresher.budgetUsage(of: stream)?.calls == 4, "over the budget: only forced refreshes are held to it")
    }

    @Test func anAppsOptionsOverrideItsPlatformsBudget() async throws {
        let platform = FakePlatform()
        let budgets = QuotaBudgets(["wechat": QuotaBudget(daily: 2000, forcedDaily: 1)])
        let fixture = try await registered(platform, budgets: budgets, options: ["forced_daily_budget": "3"])
        let other = try StreamID(project: "p", platform: "wechat", appid: "wx2")
        try await fixture.ledger.credentials.register(secret: "S", for: other, context: CallContext())
        for _ in 0..<3 { _ = try await forced(fixture) }
        await expectRefused { try await forced(fixture) }
        _ = try await forced(fixture, other)
        await expectRefused { try await forced(fixture, other) }
        #expect(platform.calls(appid: "wx1") == 3 && platform.calls(appid: "wx2") == 1)
        #expect(fixture.ledger.refresher.budgetUsage(of: stream)?.forcedLimit == 3)
        #expect(fixture.ledger.refresher.budgetUsage(of: other)?.forcedLimit == 1)

        // A budget option must be a non-negative integer: nothing is recorded otherwise.
        let version = fixture.ledger.projector.model.state(of: other)?.version
        let invalid = await #expect(throws: LedgerError.self) {
            try await fixture.ledger.credentials.set(other, secret: "S", options: ["daily_budget": "lots"], context: CallContext())
        }
        #expect(invalid?.code == .invalidInput)
        #expect(fixture.ledger.projector.model.state(of: other)?.version == version)
    }

    @Test func theStatusTellsStateExpiryAndBudgetWithoutTheToken() async throws {
        let clock = TestClock(start: Self.lateEvening)
        let fixture = try await registered(FakePlatform(), budgets: QuotaBudgets(["wechat": QuotaBudget(daily: 2000, forcedDaily: 20)]), clock: clock)
        #expect(try fixture.ledger.reader.status(of: stream).state == .noToken)
        let served = try await fixture.ledger.reader.token(for: stream, secret: nil, context: CallContext())
        let status = try fixture.ledger.reader.status(of: stream)
        #expect(status.state == .fresh)
        #expect(status.expiresAt == served.expiresAt)
        #expect(status.staleAt == served.expiresAt.addingTimeInterval(-300))
        #expect(status.nextRenewal == nil, "no scheduler in this ledger")
        #expect((status.budget.calls, status.budget.callLimit, status.budget.forced, status.budget.forcedLimit) == (1, 2000, 0, 20))
        clock.advance(by: 7000)
        #expect(try fixture.ledger.reader.status(of: stream).state == .stale)
        clock.advance(by: 300)
        #expect(try fixture.ledger.reader.status(of: stream).state == .expired)
        #expect(throws: LedgerError.self) { try fixture.ledger.reader.status(of: StreamID(project: "p", platform: "wechat", appid: "nobody")) }
    }
}
