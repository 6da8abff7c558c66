#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A stream's upstream calls on one platform day, folded from the log: every `token.issued` and
/// every `token.refresh_failed` but a budget refusal (which was decided before the platform was
/// asked) cost a call; those whose reason is `forced` count as forced refreshes too.
///
/// Counted at each event's recorded time, so the count survives restarts and is the same on
/// every replica; a count of an earlier day reads as zero (`on(day:)`).
public struct DailyCalls: Sendable, Equatable {
    /// The platform day counted (`QuotaCalendar.day(of:platform:)`); `Int.min` before any call.
    public var day = Int.min
    /// Upstream calls recorded that day.
    public var calls = 0
    /// Of them, forced refreshes (`PUT` without `nowToken`).
    public var forced = 0

    /// No calls.
    public init() {}

    /// Creates a count.
    public init(day: Int, calls: Int, forced: Int) {
        self.day = day
        self.calls = calls
        self.forced = forced
    }

    /// Counts one call recorded at `date` on `platform`; a new platform day starts a new count.
    public mutating func count(at date: Date, platform: String, forced isForced: Bool) {
        let day = QuotaCalendar.day(of: date, platform: platform)
        if day > self.day {
            self = DailyCalls(day: day, calls: 0, forced: 0)
        } else if day < self.day {
            return  // recorded before the day already counted (a clock step back): not today's
        }
        calls += 1
        if isForced { forced += 1 }
    }

    /// The count of platform day `day`: zero when the last call was on another day.
    public func on(day: Int) -> DailyCalls {
        day == self.day ? self : DailyCalls(day: day, calls: 0, forced: 0)
    }
}
