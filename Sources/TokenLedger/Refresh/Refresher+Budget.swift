import Logging

extension Refresher {
    /// The share of a budget from which an app counts as nearly out of it (metrics, dashboard).
    public static let budgetWarningFraction = 0.8

    /// Today's budget of `stream` (its upstream calls and forced refreshes on the platform's
    /// current day against its limits), from the memory model; nil when nothing is known of it.
    public func budgetUsage(of stream: StreamID) -> BudgetUsage? {
        projector.model.state(of: stream).map { budgetUsage(of: stream, state: $0) }
    }

    /// Today's budget of `stream` folded as `state`.
    public func budgetUsage(of stream: StreamID, state: StreamState) -> BudgetUsage {
        BudgetUsage(state.calls, budget: budgets.budget(of: stream, options: state.options), platform: stream.platform, now: now())
    }

    /// Under the refresh lock of `stream`, with `state` just caught up from the log: when one more
    /// forced refresh would exceed today's budget, records the refusal (a `token.refresh_failed`
    /// with code `quota_budget_exhausted`, which the count does not take for a call) and returns
    /// the error to answer; nil when the refresh may go on.
    func refuseOverBudget(_ stream: StreamID, state: StreamState, context: CallContext, fence: any RefreshFence) async throws -> LedgerError? {
        let usage = budgetUsage(of: stream, state: state)
        guard usage.forcedRefreshExhausted else { return nil }
        let note = RefreshFailed(code: LedgerError.Code.quotaBudgetExhausted.description, platformCode: nil, platformMessage: usage.refusal, reason: .forced)
        _ = try await fence.append([try NewEvent(note, metadata: metadata(context))], to: stream, expectedVersion: state.version)
        metrics.budgetRefusal(platform: stream.platform)
        logger.notice(
            "forced refresh refused: daily budget spent",
            metadata: [LogKey.stream: "\(stream)", LogKey.requestID: "\(context.requestID ?? "-")"]
        )
        return LedgerError(.quotaBudgetExhausted, "\(stream): \(usage.refusal)")
    }

    /// Records, per platform, how many apps have spent at least `budgetWarningFraction` of a
    /// budget today (no per-app label); the server calls it before each metrics scrape.
    public func recordBudgetMetrics() {
        var nearlySpent = Dictionary(uniqueKeysWithValues: platformNames.map { ($0, (calls: 0, forced: 0)) })
        for (stream, state) in projector.model.allStates() where !state.removed && nearlySpent[stream.platform] != nil {
            let usage = budgetUsage(of: stream, state: state)
            if usage.callsReached(Self.budgetWarningFraction) { nearlySpent[stream.platform]?.calls += 1 }
            if usage.forcedReached(Self.budgetWarningFraction) { nearlySpent[stream.platform]?.forced += 1 }
        }
        for (platform, counts) in nearlySpent {
            metrics.budgetsNearlySpent(platform: platform, calls: counts.calls, forced: counts.forced)
        }
    }
}
