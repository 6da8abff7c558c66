import TokenLedger

extension ServerConfiguration.Refresh {
    /// The scheduler's plan policy: `refresh.lead` (two intervals by default), `jitter`, `max_backoff`.
    /// The dashboard shows each app's next renewal with the same policy.
    var policy: RefreshPlan.Policy {
        RefreshPlan.Policy(
            lead: lead > .zero ? lead.seconds : 2 * interval.seconds,
            jitter: jitter.seconds,
            maxBackoff: maxBackoff.seconds
        )
    }
}
