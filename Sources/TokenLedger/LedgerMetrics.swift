#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Metrics
import Synchronization

/// The ledger's metrics (swift-metrics; the server exports them for Prometheus), created by the
/// `Ledger` and handed to its parts and the scheduler. Created once, after the metrics system is
/// bootstrapped, so that the hot path only increments.
public struct LedgerMetrics: Sendable {
    /// Reads answered from the memory read model.
    let memoryHits = Counter(label: "tokenledger_reads_total", dimensions: [("tier", "memory")])
    /// Reads that needed the log or the platform (through the single flight).
    let refreshedReads = Counter(label: "tokenledger_reads_total", dimensions: [("tier", "refresh")])
    /// Readers served a still-valid token past its freshness margin because the platform failed.
    let staleReads = Counter(label: "tokenledger_reads_total", dimensions: [("tier", "stale")])
    /// Time spent waiting for a stream's refresh lock.
    let lockWait = Timer(label: "tokenledger_refresh_lock_wait_seconds")
    /// Streams whose scheduled refreshes are parked (credentials rejected).
    let parkedStreams = Gauge(label: "tokenledger_scheduler_parked_streams")
    /// Streams attempted by the scheduler.
    let scheduled = Counter(label: "tokenledger_scheduler_attempts_total")
    /// Refreshes that lost their lock before recording what they fetched, by outcome: `adopted`
    /// (nobody issued another token: recorded under a new lock) or `superseded` (not made current).
    let adopted = Counter(label: "tokenledger_refresh_lock_lost_total", dimensions: [("outcome", "adopted")])
    let superseded = Counter(label: "tokenledger_refresh_lock_lost_total", dimensions: [("outcome", "superseded")])

    /// Creates the metrics with the bootstrapped factory.
    public init() {}

    /// A read answered from memory (the hot path: one atomic add).
    @inline(__always) public func memoryHit() { memoryHits.increment() }

    /// A read that went through the single flight.
    public func refreshedRead() { refreshedReads.increment() }

    /// A still-valid token served past its freshness margin.
    public func staleRead() { staleReads.increment() }

    /// Time waited for a refresh lock.
    public func lockWaited(seconds: Double) { lockWait.recordSeconds(seconds) }

    /// The scheduler's parked streams and one attempt.
    public func parked(_ count: Int) { parkedStreams.record(count) }

    /// One scheduled refresh attempted.
    public func scheduledAttempt() { scheduled.increment() }

    /// A platform call's outcome: `ok` or the failure kind.
    public func upstreamCall(platform: String, outcome: String, seconds: Double) {
        Counter(label: "tokenledger_upstream_calls_total", dimensions: [("platform", platform), ("outcome", outcome)]).increment()
        Timer(label: "tokenledger_upstream_duration_seconds", dimensions: [("platform", platform)]).recordSeconds(seconds)
    }

    /// A refresh that lost its lock: whether its token was still made current.
    public func lockLost(adopted wasAdopted: Bool) {
        (wasAdopted ? adopted : superseded).increment()
    }

    /// A forced refresh refused because the app's daily budget was spent.
    public func budgetRefusal(platform: String) {
        Counter(label: "tokenledger_budget_refusals_total", dimensions: [("platform", platform)]).increment()
    }

    /// Apps of `platform` that have spent at least 80 % of their budget of calls, and of forced
    /// refreshes, today.
    public func budgetsNearlySpent(platform: String, calls: Int, forced: Int) {
        Gauge(label: "tokenledger_budget_nearly_spent_apps", dimensions: [("platform", platform), ("budget", "calls")]).record(calls)
        Gauge(label: "tokenledger_budget_nearly_spent_apps", dimensions: [("platform", platform), ("budget", "forced")]).record(forced)
    }

    /// A token recorded, by reason.
    public func refreshed(reason: RefreshReason) {
        Counter(label: "tokenledger_refreshes_total", dimensions: [("reason", reason.rawValue)]).increment()
    }
}

/// The metrics of the memory model's projection (the `Projector`'s own).
public struct MemoryProjectionMetrics: Sendable {
    /// The memory model's checkpoint (last position applied).
    let checkpoint = Gauge(label: "tokenledger_projection_checkpoint", dimensions: [("readmodel", "memory")])
    /// When the memory model last caught up (seconds since 1970): a frozen projector shows here.
    let heartbeat = Gauge(label: "tokenledger_projection_heartbeat_seconds", dimensions: [("readmodel", "memory")])
    /// Events applied by the last catch-up (how far behind the model was).
    let caughtUpEvents = Recorder(label: "tokenledger_projection_catchup_events", dimensions: [("readmodel", "memory")])
    /// The position of the snapshot the model started from (0: replayed from the log's start).
    let restoredFrom = Gauge(label: "tokenledger_memory_snapshot_restored_position")

    /// Creates the metrics with the bootstrapped factory.
    public init() {}

    /// The model started from the snapshot at `position`.
    func restored(at position: Int64) { restoredFrom.record(position) }

    /// A catch-up of the memory model finished.
    public func caughtUp(checkpoint position: Int64, applied: Int) {
        checkpoint.record(position)
        heartbeat.record(Date().timeIntervalSince1970)
        caughtUpEvents.record(applied)
    }
}

/// The metrics of one shared read model's projection.
public struct StoreProjectionMetrics: Sendable {
    let checkpoint: Gauge
    let heartbeat: Gauge
    let caughtUpEvents: Recorder
    let leading: Gauge
    let failures: Counter
    let lag: Gauge

    /// Creates the metrics of `readModel`.
    public init(readModel: String) {
        checkpoint = Gauge(label: "tokenledger_projection_checkpoint", dimensions: [("readmodel", readModel)])
        heartbeat = Gauge(label: "tokenledger_projection_heartbeat_seconds", dimensions: [("readmodel", readModel)])
        caughtUpEvents = Recorder(label: "tokenledger_projection_catchup_events", dimensions: [("readmodel", readModel)])
        leading = Gauge(label: "tokenledger_projection_leader", dimensions: [("readmodel", readModel)])
        failures = Counter(label: "tokenledger_projection_failures_total", dimensions: [("readmodel", readModel)])
        lag = Gauge(label: "tokenledger_projection_lag_events", dimensions: [("readmodel", readModel)])
    }

    func caughtUp(checkpoint position: Int64, applied: Int, lag events: Int64) {
        checkpoint.record(position)
        heartbeat.record(Date().timeIntervalSince1970)
        caughtUpEvents.record(applied)
        lag.record(events)
    }

    func leader(_ isLeader: Bool) { leading.record(isLeader ? 1 : 0) }

    /// A failed catch-up; `events` is how far the store is behind what this replica knows of the log.
    func failed(lag events: Int64) {
        failures.increment()
        lag.record(events)
    }
}

/// Reads answered by a shared read model, by tier (`redis`, `mysql`, `mongo`): exported, and
/// counted here too so that the process itself can tell.
struct TierMetrics: Sendable {
    final class Tier: Sendable {
        let exported: Counter
        let counted = Atomic<Int>(0)

        init(_ name: String) {
            exported = Counter(label: "tokenledger_reads_total", dimensions: [("tier", name)])
        }
    }

    let tiers: [String: Tier]

    init(tiers names: [String]) {
        tiers = Dictionary(uniqueKeysWithValues: names.map { ($0, Tier($0)) })
    }

    func hit(_ name: String) {
        guard let tier = tiers[name] else { return }
        tier.exported.increment()
        tier.counted.add(1, ordering: .relaxed)
    }

    func count(_ name: String) -> Int { tiers[name]?.counted.load(ordering: .relaxed) ?? 0 }
}
