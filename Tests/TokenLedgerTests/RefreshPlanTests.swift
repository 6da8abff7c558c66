import Foundation
import Testing
import TokenLedger

/// The scheduler's plan is a pure function of a stream's folded state.
struct RefreshPlanTests {
    let stream = try! StreamID(project: "p", platform: "wechat", appid: "wx1")
    let freshness = Freshness(earlySeconds: 300)
    let policy = RefreshPlan.Policy(lead: 120, jitter: 10, baseBackoff: 5, maxBackoff: 300)

    func state(token expires: Date? = nil, failure: String? = nil, failures: Int = 0, at: Date = Date(timeIntervalSince1970: 1000)) -> StreamState {
        var state = StreamState()
        state.secret = "s"
        state.credentialsPosition = 1
        state.position = 3
        if let expires { state.token = CurrentToken(value: "t", expiresAt: expires, position: 2, issuedAt: at) }
        if let failure {
            state.lastFailure = LastFailure(code: failure, at: at, position: 3)
            state.consecutiveFailures = failures
        }
        return state
    }

    @Test func aTokenIsDueAheadOfItsStalenessWithinTheJitter() throws {
        let expires = Date(timeIntervalSince1970: 10_000)
        guard case .due(let date) = RefreshPlan.decide(state(token: expires), stream: stream, freshness: freshness, policy: policy) else {
            Issue.record("expected a due date")
            return
        }
        let stale = expires.addingTimeInterval(-300)
        #expect(date <= stale.addingTimeInterval(-120))
        #expect(date >= stale.addingTimeInterval(-130))
    }

    @Test func aShortLivedTokenIsRenewedOncePerLifeNotOnEveryTick() throws {
        // 300 s of life: margin, lead and jitter each at most 60 s, so renewal falls in its last
        // three fifths, not before it was even issued (lead 120 + margin 300 > 300).
        let issued = Date(timeIntervalSince1970: 1000)
        var short = state(at: issued)
        short.token = CurrentToken(value: "t", expiresAt: issued.addingTimeInterval(300), position: 2, issuedAt: issued)
        guard case .due(let date) = RefreshPlan.decide(short, stream: stream, freshness: freshness, policy: policy) else {
            Issue.record("expected a due date")
            return
        }
        #expect(date >= issued.addingTimeInterval(120))
        #expect(date <= issued.addingTimeInterval(180))
    }

    @Test func anAppWithoutTokenIsDueNowAndOneWithoutSecretIsIdle() {
        #expect(RefreshPlan.decide(state(), stream: stream, freshness: freshness, policy: policy) == .due(.distantPast))
        var noSecret = state()
        noSecret.secret = nil
        #expect(RefreshPlan.decide(noSecret, stream: stream, freshness: freshness, policy: policy) == .idle)
    }

    @Test func failuresBackOffExponentiallyUpToTheCap() {
        let at = Date(timeIntervalSince1970: 1000)
        func delay(_ failures: Int) -> Double {
            guard case .due(let date) = RefreshPlan.decide(state(failure: "upstream_busy", failures: failures, at: at), stream: stream, freshness: freshness, policy: policy) else { return -1 }
            return date.timeIntervalSince(at)
        }
        #expect((5...6).contains(delay(1)))
        #expect((10...12).contains(delay(2)))
        #expect((20...24).contains(delay(3)))
        #expect((300...360).contains(delay(30)))
    }

    @Test func rejectedCredentialsParkUntilANewSecretAndQuotaUntilChinaMidnight() {
        #expect(RefreshPlan.decide(state(failure: "upstream_rejected_credentials", failures: 1), stream: stream, freshness: freshness, policy: policy) == .parkedUntilNewSecret)
        var rotated = state(failure: "upstream_rejected_credentials", failures: 1)
        rotated.credentialsPosition = 4
        #expect(RefreshPlan.decide(rotated, stream: stream, freshness: freshness, policy: policy) == .due(.distantPast))
        // 2026-12-01 20:00 UTC is 04:00 on 2 December in China: the quota turns at 16:00 UTC that day.
        let at = Date(timeIntervalSince1970: 1_796_155_200)
        #expect(RefreshPlan.decide(state(failure: "upstream_quota_exhausted", failures: 1, at: at), stream: stream, freshness: freshness, policy: policy)
            == .due(Date(timeIntervalSince1970: 1_796_227_200)))
    }
}
