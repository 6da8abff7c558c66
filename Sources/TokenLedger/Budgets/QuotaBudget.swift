/// How many upstream calls, and how many forced refreshes, an app may spend per platform day
/// before a forced refresh is refused (`quota_budget_exhausted`). Refreshes that serve readers
/// (miss, expired, scheduled, compare) are never refused: they go on up to the platform's quota.
///
/// `nil` is no budget. The platform's budget is `platforms.<name>.daily_budget` and
/// `platforms.<name>.forced_daily_budget`, defaulting to `documented`; an app overrides either
/// through its options `daily_budget` and `forced_daily_budget`.
public struct QuotaBudget: Sendable, Equatable {
    /// Upstream calls a day.
    public var daily: Int?
    /// Forced refreshes a day.
    public var forcedDaily: Int?

    /// Creates a budget (no limits by default).
    public init(daily: Int? = nil, forcedDaily: Int? = nil) {
        self.daily = daily
        self.forcedDaily = forcedDaily
    }

    /// The quotas the platforms document: WeChat's 2,000 `token` calls a day per app and 20 forced
    /// `stable_token` refreshes a day. The other platforms document none.
    public static let documented: [String: QuotaBudget] = ["wechat": QuotaBudget(daily: 2000, forcedDaily: 20)]

    /// The app option overriding `daily`.
    public static let dailyOption = "daily_budget"
    /// The app option overriding `forcedDaily`.
    public static let forcedDailyOption = "forced_daily_budget"

    /// This budget with an app's overrides (options already checked by `checkOptions`).
    public func overridden(by options: [String: String]) -> QuotaBudget {
        var budget = self
        if let daily = options[Self.dailyOption].flatMap(Int.init) { budget.daily = daily }
        if let forced = options[Self.forcedDailyOption].flatMap(Int.init) { budget.forcedDaily = forced }
        return budget
    }

    /// Refuses budget options that are not non-negative integers, before they are recorded.
    public static func checkOptions(_ options: [String: String]) throws(LedgerError) {
        for key in [dailyOption, forcedDailyOption] {
            guard let text = options[key] else { continue }
            guard let value = Int(text), value >= 0 else {
                throw LedgerError(.invalidInput, "option \(key) must be a non-negative integer, is '\(text)'")
            }
        }
    }
}

/// The budgets of every platform by name (configuration), with each app's overrides.
public struct QuotaBudgets: Sendable, Equatable {
    /// The platforms' budgets; a platform not listed has none.
    public var byPlatform: [String: QuotaBudget]

    /// Budgets by platform name (none by default).
    public init(_ byPlatform: [String: QuotaBudget] = [:]) {
        self.byPlatform = byPlatform
    }

    /// The budget of `stream`, whose options are `options`.
    public func budget(of stream: StreamID, options: [String: String]) -> QuotaBudget {
        (byPlatform[stream.platform] ?? QuotaBudget()).overridden(by: options)
    }
}
