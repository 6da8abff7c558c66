#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Metrics

/// The metrics of one webhook, labelled with its id (ids come from configuration).
public struct WebhookMetrics: Sendable {
    let deliveries: Counter
    let failures: Counter
    let parked: Gauge
    let lag: Gauge
    let checkpoint: Gauge
    let leading: Gauge

    /// Creates the metrics of webhook `id`.
    public init(webhook id: String) {
        let label = [("webhook", id)]
        deliveries = Counter(label: "tokenledger_webhook_deliveries_total", dimensions: label)
        failures = Counter(label: "tokenledger_webhook_failures_total", dimensions: label)
        parked = Gauge(label: "tokenledger_webhook_parked", dimensions: label)
        lag = Gauge(label: "tokenledger_webhook_lag_events", dimensions: label)
        checkpoint = Gauge(label: "tokenledger_webhook_checkpoint", dimensions: label)
        leading = Gauge(label: "tokenledger_webhook_leader", dimensions: label)
    }

    func delivered() { deliveries.increment() }
    func failed() { failures.increment() }
    func parked(_ isParked: Bool) { parked.record(isParked ? 1 : 0) }
    func leader(_ isLeader: Bool) { leading.record(isLeader ? 1 : 0) }
    func at(_ position: Int64, head: Int64) {
        checkpoint.record(position)
        lag.record(max(0, head - position))
    }
}
