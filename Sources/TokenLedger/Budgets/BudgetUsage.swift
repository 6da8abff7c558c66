#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A stream's budget on one platform day: what was spent against what may be.
public struct BudgetUsage: Sendable, Equatable {
    /// When the platform day began.
    public var dayStart: Date
    /// When it turns (and the counts start again).
    public var resetsAt: Date
    /// Upstream calls recorded today.
    public var calls: Int
    /// The budget of calls (nil: none).
    public var callLimit: Int?
    /// Forced refreshes recorded today.
    public var forced: Int
    /// The budget of forced refreshes (nil: none).
    public var forcedLimit: Int?

    /// The usage of `calls` (the stream's folded count) on the platform day of `now` under `budget`.
    public init(_ calls: DailyCalls, budget: QuotaBudget, platform: String, now: Date) {
        let today = QuotaCalendar.day(of: now, platform: platform)
        let count = calls.on(day: today)
        self.dayStart = QuotaCalendar.start(ofDay: today, platform: platform)
        self.resetsAt = QuotaCalendar.start(ofDay: today + 1, platform: platform)
        self.calls = count.calls
        self.callLimit = budget.daily
        self.forced = count.forced
        self.forcedLimit = budget.forcedDaily
    }

    /// Whether one more forced refresh would exceed a budget.
    public var forcedRefreshExhausted: Bool {
        callLimit.map { calls >= $0 } == true || forcedLimit.map { forced >= $0 } == true
    }

    /// Whether the calls reached `fraction` of their budget.
    public func callsReached(_ fraction: Double) -> Bool {
        callLimit.map { Double(calls) >= fraction * Double($0) } == true
    }

    /// Whether the forced refreshes reached `fraction` of their budget.
    public func forcedReached(_ fraction: Double) -> Bool {
        forcedLimit.map { Double(forced) >= fraction * Double($0) } == true
    }

    /// Why a forced refresh is refused, for the caller and the event.
    var refusal: String {
        let spent = callLimit.map { calls >= $0 } == true ? "\(calls) of \(callLimit ?? 0) upstream calls" : "\(forced) of \(forcedLimit ?? 0) forced refreshes"
        return "today's budget is spent (\(spent)); forced refreshes resume at \(AuditEntry.iso(resetsAt))"
    }
}
