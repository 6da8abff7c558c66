#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
public import Logging
import Synchronization

/// Follows the log into one webhook: each event it wants is posted, signed, in log order, and
/// its checkpoint moves only once the receiver took it (at least once: a receiver drops a
/// delivery whose id it has seen).
///
/// One replica leads each webhook (role `webhook:<id>`); the checkpoint and the parked state live
/// with the log, so that whichever replica leads next goes on from there. A delivery that keeps
/// failing is retried with exponential back-off up to `Options.maxAttempts`, then the webhook is
/// parked until `tokenledger webhooks resume`.
public final class WebhookProjector: Sendable {
    /// Bounds of delivery (`webhooks_*` keys).
    public struct Options: Sendable {
        /// Attempts of one delivery before the webhook is parked.
        public var maxAttempts: Int
        /// The wait after the first failed attempt; doubled after each.
        public var backoff: Duration
        /// The longest wait between attempts.
        public var maxBackoff: Duration
        /// How often a follower tries to lead, and a parked or idle leader looks again.
        public var pollInterval: Duration
        /// Events read from the log at once.
        public var pageSize: Int

        /// Creates the bounds.
        public init(
            maxAttempts: Int = 8, backoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(60), pollInterval: Duration = .seconds(2),
            pageSize: Int = 500
        ) {
            self.maxAttempts = maxAttempts
            self.backoff = backoff
            self.maxBackoff = maxBackoff
            self.pollInterval = pollInterval
            self.pageSize = pageSize
        }
    }

    /// The webhook.
    public let subscription: WebhookSubscription
    /// Its metrics.
    public let metrics: WebhookMetrics
    private let log: any EventLog
    private let election: any LeaderElection
    private let checkpoints: any WebhookCheckpoints
    private let sender: any WebhookSender
    private let wakes: WakeSignal
    private let options: Options
    private let head: @Sendable () -> Int64
    private let now: @Sendable () -> Date
    private let logger: Logger
    private let leading = Atomic<Bool>(false)

    /// Creates the projector of `subscription`; `wakes` is signalled when the log may have grown,
    /// `head` tells how far the log is known to go (for the lag metric).
    public init(
        subscription: WebhookSubscription,
        log: any EventLog,
        election: any LeaderElection,
        checkpoints: any WebhookCheckpoints,
        sender: any WebhookSender,
        wakes: WakeSignal,
        options: Options = Options(),
        head: @escaping @Sendable () -> Int64 = { 0 },
        now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger
    ) {
        self.subscription = subscription
        self.metrics = WebhookMetrics(webhook: subscription.id)
        self.log = log
        self.election = election
        self.checkpoints = checkpoints
        self.sender = sender
        self.wakes = wakes
        self.options = options
        self.head = head
        self.now = now
        self.logger = logger
    }

    /// The leadership role of the webhook, shared by every replica of the log.
    public var role: String { "webhook:\(subscription.id)" }

    /// Whether this process currently delivers the webhook.
    public var isLeader: Bool { leading.load(ordering: .acquiring) }

    /// Leads the webhook when no other process does, delivering while leading; tries to lead
    /// again every `pollInterval` otherwise. Runs until cancelled.
    public func run() async throws {
        await election.campaign(for: role, retry: options.pollInterval) { [logger, subscription] error in
            logger.warning("webhook leadership lost", metadata: [LogKey.webhook: "\(subscription.id)", LogKey.error: "\(LedgerError.explain(error))"])
        } _: {
            self.leading.store(true, ordering: .releasing)
            self.metrics.leader(true)
            self.logger.info("leading webhook", metadata: [LogKey.webhook: "\(self.subscription.id)"])
            defer {
                self.leading.store(false, ordering: .releasing)
                self.metrics.leader(false)
            }
            try await self.follow()
        }
    }

    /// What one pass over the log ended with.
    enum Outcome: Equatable {
        /// Everything committed was delivered or passed over.
        case caughtUp
        /// The checkpoint moved under this leader (a resume): read it again.
        case moved
        /// Delivery is parked.
        case parked
    }

    /// Delivers on every wake-up and every `pollInterval`, backing off while the log or the
    /// checkpoints fail.
    private func follow() async throws {
        let wakeUps = wakes.subscribe()
        defer { wakeUps.cancel() }
        var fold = WebhookFold()
        var retry = Duration.milliseconds(200)
        while !Task.isCancelled {
            do {
                switch try await pass(&fold) {
                case .moved: continue
                case .caughtUp, .parked: await wakeUps.next(timeout: options.pollInterval)
                }
                retry = .milliseconds(200)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                logger.warning(
                    "webhook pass failed, retrying",
                    metadata: [LogKey.webhook: "\(subscription.id)", LogKey.error: "\(LedgerError.explain(error))", "retry_in": "\(retry)"]
                )
                try await Task.sleep(for: retry)
                retry = min(retry * 2, .seconds(5))
            }
        }
        throw CancellationError()
    }

    /// Reads the checkpoint, folds the log up to it, and delivers what follows, in order.
    /// `fold` is kept between passes; one ahead of the checkpoint (after a parking, a resume
    /// `--from`) is folded again from the start.
    func pass(_ fold: inout WebhookFold) async throws -> Outcome {
        let checkpoint = try await checkpoints.checkpoint(of: subscription.id)
        metrics.parked(checkpoint.isParked)
        metrics.at(checkpoint.position, head: head())
        if checkpoint.isParked { return .parked }
        if fold.position > checkpoint.position { fold = WebhookFold() }
        var delivered = checkpoint.position
        var read = fold.position
        while true {
            try Task.checkCancellation()
            let events = try await log.readAll(after: read, limit: options.pageSize)
            for event in events {
                read = event.position
                guard let webhook = fold.apply(event), event.position > delivered, subscription.wants(webhook) else { continue }
                guard try await deliver(webhook, after: delivered) else { return .parked }
                guard try await checkpoints.advance(subscription.id, from: delivered, to: event.position) else { return .moved }
                delivered = event.position
                metrics.at(delivered, head: head())
            }
            if events.count < options.pageSize { break }
        }
        if read > delivered {
            // Events this webhook does not want: passed over, so that the next pass starts here.
            guard try await checkpoints.advance(subscription.id, from: delivered, to: read) else { return .moved }
            metrics.at(read, head: head())
        }
        return .caughtUp
    }

    /// Posts `webhook` until the receiver takes it (2xx), waiting longer after each failure; after
    /// `maxAttempts` parks the webhook at `checkpoint` and returns false.
    private func deliver(_ webhook: WebhookEvent, after checkpoint: Int64) async throws -> Bool {
        let body = try webhook.body()
        var wait = options.backoff
        for attempt in 1... {
            let failure: String
            do {
                let status = try await sender.send(request(webhook, body: body))
                if (200..<300).contains(status) {
                    metrics.delivered()
                    return true
                }
                failure = "the receiver answered \(status)"
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                failure = LedgerError.explain(error)
            }
            metrics.failed()
            let metadata: Logger.Metadata = [LogKey.webhook: "\(subscription.id)", LogKey.position: "\(webhook.position)", LogKey.error: "\(failure)"]
            if attempt >= options.maxAttempts {
                _ = try await checkpoints.park(subscription.id, at: checkpoint, reason: failure)
                metrics.parked(true)
                logger.error(
                    "webhook parked after \(attempt) failed attempts; `tokenledger webhooks resume \(subscription.id)` delivers again",
                    metadata: metadata
                )
                return false
            }
            logger.warning("webhook delivery failed, retrying in \(wait)", metadata: metadata)
            try await Task.sleep(for: wait)
            wait = min(wait * 2, options.maxBackoff)
        }
        return false
    }

    /// The signed POST of `webhook`, signed now (each attempt carries its own time).
    func request(_ webhook: WebhookEvent, body: Data) -> WebhookRequest {
        let timestamp = Int64(now().timeIntervalSince1970)
        return WebhookRequest(
            webhook: subscription.id,
            url: subscription.url,
            headers: [
                ("Content-Type", "application/json"),
                ("User-Agent", "TokenLedger-Webhook"),
                ("X-TokenLedger-Webhook", subscription.id),
                ("X-TokenLedger-Delivery", webhook.id),
                ("X-TokenLedger-Event", webhook.type.rawValue),
                ("X-TokenLedger-Signature", WebhookSignature.header(body: body, secret: subscription.secret, timestamp: timestamp)),
            ],
            body: body
        )
    }
}
